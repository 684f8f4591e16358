"""A service's start-up work: the one place that seeds defaults a fresh store needs.

Not a DependencyProvider: a provider gives workers a resource, it does not run use
cases. ``@on_start`` marks the service method doing the start-up work; it runs once per
container, in a worker (so it gets the service's dependencies like any call), after
every extension's ``setup`` and before the container counts as started. Two instances
starting together both run it, so the work must be idempotent.

    class InvoiceService:
        @on_start
        def bootstrap(self) -> None:
            bootstrap.seed_defaults(self.storage.settings, self.policy)
"""
from __future__ import annotations

from typing import Any

from eventlet.event import Event
from nameko.extensions import Entrypoint


class OnStart(Entrypoint):
    """Runs the decorated method once while the container starts; its exception fails
    the start (a service that cannot seed its defaults does not serve)."""

    def start(self) -> None:
        done: Event = Event()

        def handle_result(worker_ctx: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
            done.send(exc_info)
            return result, exc_info

        self.container.spawn_worker(self, (), {}, handle_result=handle_result)
        exc_info = done.wait()
        if exc_info is not None:
            raise exc_info[1]


on_start = OnStart.decorator
