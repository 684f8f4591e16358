"""Group commit: the concurrent writers of one process share one store transaction.

The store serialises commits behind one lock and each commit has a fixed cost, so N
writers that each commit alone pay N commits; writers that queue up while a commit runs
can be committed together in the next one. A leader/follower queue does that: the first
writer to arrive when no commit runs becomes the leader and commits at once (a writer
alone waits for nobody); writers that arrive meanwhile wait in the queue; when the
commit ends the next leader takes up to ``max_group`` of them and commits them
together, and every writer is woken with its own outcome (a result or an error).

This module only queues and hands out outcomes; what "commit a group" means, and how
one member's failure is kept from the others, is the ``commit`` function's business
(``EventStore``)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")  # a writer's request
R = TypeVar("R")  # its result

_UNSET = object()


class GroupCommitInterrupted(RuntimeError):
    """Raised to a waiting writer when its group's leader was interrupted (killed)
    before it knew the group's outcome: the writer's request may or may not be stored."""


class Ticket(Generic[T, R]):
    """One writer's request in the queue, and its outcome once known."""

    __slots__ = ("request", "_result", "_error")

    def __init__(self, request: T) -> None:
        self.request = request
        self._result: object = _UNSET
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._result is not _UNSET or self._error is not None

    @property
    def failed(self) -> bool:
        return self._error is not None

    def resolve(self, result: R) -> None:
        self._result = result

    def fail(self, error: BaseException) -> None:
        self._error = error

    def outcome(self) -> R:
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


Commit = Callable[[list[Ticket[T, R]]], None]


class GroupCommitter(Generic[T, R]):
    """The leader/follower queue. ``commit(tickets)`` must resolve or fail every ticket
    it is given; ``size(request)`` (1 by default) counts towards ``max_size`` so that a
    group also stays small in events, not only in writers: the store aborts a
    transaction that lives longer than its lifetime limit."""

    def __init__(self, commit: Commit[T, R], max_group: int, max_size: int | None = None,
                 size: Callable[[T], int] | None = None) -> None:
        self._commit = commit
        self.max_group = max_group
        self.max_size = max_size
        self._size = size or (lambda _request: 1)
        self._cond = threading.Condition()
        self._queue: list[Ticket[T, R]] = []
        self._leading = False

    @property
    def waiting(self) -> int:
        """Writers queued for the next group."""
        with self._cond:
            return len(self._queue)

    def submit(self, request: T) -> R:
        """Commit ``request`` (alone or with others); return its result or raise its error."""
        ticket: Ticket[T, R] = Ticket(request)
        with self._cond:
            self._queue.append(ticket)
        while True:
            with self._cond:
                while self._leading and not ticket.done:
                    self._wait(ticket)
                if ticket.done:
                    break
                self._leading = True
                group = self._take()
            self._lead(group)
        return ticket.outcome()

    def _wait(self, ticket: Ticket[T, R]) -> None:
        try:
            self._cond.wait()
        except BaseException:
            # the writer was killed while queued: nobody will read its outcome
            if ticket in self._queue:
                self._queue.remove(ticket)
            raise

    def _take(self) -> list[Ticket[T, R]]:
        """The next group: queue order, at most ``max_group`` writers and (after the
        first) ``max_size`` in all."""
        group: list[Ticket[T, R]] = []
        total = 0
        for ticket in self._queue:
            size = self._size(ticket.request)
            if group and (len(group) == self.max_group
                          or (self.max_size is not None and total + size > self.max_size)):
                break
            group.append(ticket)
            total += size
        del self._queue[:len(group)]
        return group

    def _lead(self, group: list[Ticket[T, R]]) -> None:
        try:
            self._commit(group)
        finally:
            for ticket in group:
                if not ticket.done:
                    ticket.fail(GroupCommitInterrupted(
                        "the group commit was interrupted; the write may or may not be stored"))
            with self._cond:
                self._leading = False
                self._cond.notify_all()
