"""Stacks that only one directory's tests use (service processes, a vhost) stop after
that directory's last test instead of at the end of the session: left idle they still
poll (timeouts, webhooks, catch-up) on the 2 cores the rest of the run needs, and their
shutdowns all landed in the last unit test's teardown. pytest's ``package`` scope would
do this, but for a directory without ``__init__.py`` (tests/e2e, tests/browser,
tests/fuzz) it ends with the session."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

_pending: dict[Path, list[Callable[[], None]]] = {}
_last: dict[Path, Any] = {}


def close_after_directory(directory: Path, close: Callable[[], None]) -> Callable[[], None]:
    """Run ``close`` once: after the last test under ``directory`` or when the returned
    callable is called (the fixture's own teardown), whichever comes first."""
    done: list[bool] = []

    def once() -> None:
        if not done:
            done.append(True)
            close()
    _pending.setdefault(directory.resolve(), []).append(once)
    return once


def close_finished_directories(item: Any) -> None:
    """After ``item``'s teardown: close, last opened first, what belongs to a directory
    whose last test (in this session's order) ``item`` was."""
    for directory in list(_pending):
        if directory not in _last:
            _last[directory] = next((i for i in reversed(item.session.items)
                                     if directory in Path(i.path).resolve().parents), None)
        if _last[directory] is item:
            for close in reversed(_pending.pop(directory)):
                close()
