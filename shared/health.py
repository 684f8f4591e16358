"""What "ready" means for a service process, kept apart from nameko so that consumers
and providers can report into it: catch-up threads say when they start and finish, and
the readiness probe (shared.ops) adds the store and broker checks.

One registry per process: ``nameko run search.service`` runs two containers in one
process, and the process is ready only when both have caught up."""
from __future__ import annotations

import threading


class CatchUps:
    """The catch-ups this process still waits for (by consumer name)."""

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def expect(self, name: str) -> None:
        """Called before a catch-up thread starts: the process is not ready until ``done``."""
        with self._lock:
            self._pending.add(name)

    def done(self, name: str) -> None:
        with self._lock:
            self._pending.discard(name)

    def pending(self) -> list[str]:
        with self._lock:
            return sorted(self._pending)


CATCH_UPS = CatchUps()
