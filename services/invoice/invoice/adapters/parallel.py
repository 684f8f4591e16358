"""Running an import chunk's rows concurrently, as green threads of the service's own
worker: the event store's group commit then stores the appends that queue up while one
transaction runs together, in one transaction, instead of one transaction per row."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import eventlet

R = TypeVar("R")


def green_runner(size: int) -> Callable[[Sequence[Callable[[], R]]], list[R]]:
    """A runner of at most ``size`` tasks at a time: every task's result, in order. Every
    task runs to its end even when one raises; the first error is raised after them."""
    def run(tasks: Sequence[Callable[[], R]]) -> list[R]:
        pool = eventlet.GreenPool(size)
        threads = [pool.spawn(task) for task in tasks]
        results: list[R] = []
        error: BaseException | None = None
        for thread in threads:
            try:
                results.append(thread.wait())
            except Exception as exc:  # noqa: BLE001 - raised once every row has run
                error = error or exc
        if error is not None:
            raise error
        return results
    return run
