"""A unit of work on a service's store: one transaction, and everything a caller of the
store had to remember around it.

``UnitOfWork.run(work)`` holds the store's append lock (when the work may append: the
writers of one process would only collide on the position counter), opens a session,
runs ``work(transaction)`` in one transaction -- again from the start after a transient
write conflict, as ``with_transaction`` does -- and, once it committed, wakes the outbox
relay for the events appended in it. ``work`` gets a ``Transaction``: the adapters bind
their repositories to it and append through it, so the events of every aggregate saved
in the work are collected, committed with whatever else it writes (a consumer's tracker
checkpoints among them) and handed to the relay once. Reactions and projectors get
repositories bound to the transaction, never the session itself.

A work that cannot append (a projection into views) takes a unit of work without a
store: no lock, no relay.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pymongo.client_session import ClientSession
from pymongo.database import Database

from shared.events.envelope import Metadata, PendingEvent, StreamHead
from shared.events.store import EventStore

T = TypeVar("T")


class Transaction:
    """One try of a unit of work's transaction: ``session`` for the adapters that write
    in it, ``append`` for the events, ``appended`` what was appended so far."""

    def __init__(self, session: ClientSession, store: EventStore | None) -> None:
        self.session = session
        self._store = store
        self.appended: list[dict[str, Any]] = []

    def append(self, stream_id: str, stream_type: str, head: StreamHead,
               pending: Sequence[PendingEvent], meta: Metadata) -> list[dict[str, Any]]:
        """Append ``pending`` after ``head`` in this transaction; a duplicate
        (stream_id, version) aborts it with the store's duplicate-key error."""
        if self._store is None:
            raise RuntimeError("this unit of work has no event store to append to")
        envelopes = self._store.append_in(self.session, stream_id, stream_type, head, pending, meta)
        self.appended += envelopes
        return envelopes


class UnitOfWork:
    """Transactions on ``db``; with ``store``, works that may append to it."""

    def __init__(self, db: Database[Any], store: EventStore | None = None) -> None:
        self.db = db
        self.store = store

    def run(self, work: Callable[[Transaction], T], may_append: bool = True) -> T:
        """``work`` in one transaction; the relay woken for what it appended.
        ``may_append=False`` (a cheap look said it cannot) skips the append lock."""
        tries: list[Transaction] = []

        def attempt(session: ClientSession) -> T:
            tries.append(Transaction(session, self.store))  # a retry starts afresh
            return work(tries[-1])

        lock = self.store.append_lock if self.store is not None and may_append \
            else contextlib.nullcontext()
        with lock, self.db.client.start_session() as session:
            result = session.with_transaction(attempt)
        appended = tries[-1].appended if tries else []
        if appended and self.store is not None:
            self.store.appended(len(appended))
        return result
