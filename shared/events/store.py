"""The event store on MongoDB.

One ``events`` collection per service database. Appends are atomic per command (one
transaction for all its events plus any state the caller writes alongside), guarded by
a unique (stream_id, version) index, and take their global ``position`` from a counter
updated inside the same transaction: a second writer conflicts on the counter until
the first commits, so positions become visible in increasing order and a reader that
follows ``position`` never skips an event. Events are never updated or deleted.

A writer killed inside its transaction (kill -9) leaves the transaction open on the
server, counter and all, until the server aborts it: the stores are started with that
limit at 3 s (``shared.secantus_server``; MongoDB: ``transactionLifetimeLimitSeconds``),
not the default 60. Meanwhile other appends meet WriteConflict (a
TransientTransactionError), and ``with_transaction`` runs them again, with a short
back-off, until the counter is free.

Every event is signed by the service that stores it (``shared.keys``: Ed25519 over the
hash, key id in the envelope). Each stream's head (last version, its hash and
signature) is kept in ``stream_heads``, written in the same transaction: ``verify``
finds a deleted tail by comparing with it.

Group commit (``shared.events.group_commit``): the store takes a few milliseconds per
transaction behind one lock, whatever is in it, so appends that arrive while another
commit runs wait and are then committed together, in one transaction: everything an
append does alone (its events, its stream head, its ``also`` writes, its share of the
position counter) it does in the group's transaction, in queue order. Groups are
bounded (MAX_GROUP appends, MAX_GROUP_EVENTS events) to stay far inside the store's
3 s transaction lifetime.
"""
from __future__ import annotations

import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from shared import metrics
from shared.dates import utc_now
from shared.errors import ConcurrencyConflict
from shared.events.envelope import (
    GENESIS_HASH,
    ChainChecker,
    Metadata,
    PendingEvent,
    StreamHead,
    compute_hash,
)
from shared.events.group_commit import GroupCommitter, Ticket
from shared.events.upcasting import UpcasterRegistry
from shared.keys import KeyRing, SigningKey
from shared.mongo import is_duplicate_key, is_duplicate_of

STREAM_VERSION_INDEX = "stream_version_unique"
POSITION_INDEX = "position_unique"
RETRY_PAUSE_FIRST = 0.005  # seconds; see retry_pause
RETRY_PAUSE_MAX = 0.1
# A group's bounds: an append-shaped transaction costs ~4 ms alone and ~1 ms per more
# append in a group, so a full group commits in a small fraction of the 3 s lifetime.
MAX_GROUP = 32
MAX_GROUP_EVENTS = 256
MAX_GROUP_FAILURES = 2  # appends taken out of one group before the rest go alone

AlsoWrite = Callable[[ClientSession, list[dict[str, Any]]], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Append:
    """One writer's append, as it waits in the group-commit queue."""

    stream_id: str
    stream_type: str
    head: StreamHead
    pending: tuple[PendingEvent, ...]
    meta: Metadata
    also: AlsoWrite | None
    occurred_at: str


class AppendFailed(Exception):
    """Raised inside a group's transaction when one append's writes or ``also`` failed
    (``index``: which one; ``error``: why)."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


class EventStore:
    """Append-only store of event envelopes (port + MongoDB adapter in one small class)."""

    def __init__(self, db: Database[Any], signer: SigningKey,
                 upcasters: UpcasterRegistry | None = None, keys: KeyRing | None = None,
                 on_append: Callable[[], None] | None = None) -> None:
        self.db = db
        self.signer = signer
        self.keys = keys  # public keys for verify(); without them only hashes are checked
        self.events = db["events"]
        self.heads = db["stream_heads"]
        self.counters = db["counters"]
        self.upcasters = upcasters or UpcasterRegistry()
        self.on_append = on_append  # the relay's wake-up, set by EventStoreProvider
        # the relay's hand-off: what a group commit just stored, in position order
        self.on_commit: Callable[[list[dict[str, Any]]], None] | None = None
        # One appending transaction at a time per process: writers in one process would
        # only collide on the position counter and retry; the store serialises commits
        # anyway. Concurrent appends share one transaction instead (group commit).
        self._append_lock = threading.Lock()
        self._group: GroupCommitter[Append, list[dict[str, Any]]] = GroupCommitter(
            self._commit_group, MAX_GROUP, MAX_GROUP_EVENTS, size=lambda a: len(a.pending))
        self._counted = threading.Lock()
        self.transactions = 0  # appending transactions run (tries included), for tests and the bench

    def ensure_indexes(self) -> None:
        self.events.create_index([("stream_id", ASCENDING), ("version", ASCENDING)],
                                 unique=True, name=STREAM_VERSION_INDEX)
        self.events.create_index([("position", ASCENDING)], unique=True, name=POSITION_INDEX)
        self.events.create_index([("stream_id", ASCENDING), ("occurred_at", ASCENDING)],
                                 name="stream_occurred_at")

    # -- writing ---------------------------------------------------------------------
    def append(self, stream_id: str, stream_type: str, head: StreamHead,
               pending: Sequence[PendingEvent], meta: Metadata,
               also: AlsoWrite | None = None) -> list[dict[str, Any]]:
        """Append ``pending`` after ``head``; run ``also`` in the same transaction.

        Concurrent appends of this process are committed together (group commit: one
        transaction, each append with its own expected-version check and its own
        ``also``); an append that fails is taken out of the group and answered alone, so
        it fails only itself.

        Raises ConcurrencyConflict when another writer appended after ``head`` first;
        any other error from ``also`` (a DuplicateKeyError of the caller's own unique
        index, say) aborts the whole append and propagates unchanged.
        """
        if not pending:
            return []
        return self._group.submit(Append(stream_id, stream_type, head, tuple(pending), meta,
                                         also, utc_now()))

    @property
    def waiting(self) -> int:
        """Appends of this process queued for the next group commit."""
        return self._group.waiting

    def _commit_group(self, tickets: list[Ticket[Append, list[dict[str, Any]]]]) -> None:
        """Commit the group in one transaction. An append that fails inside it is taken
        out and the rest run again (at most MAX_GROUP_FAILURES times, then each alone);
        the failed ones are then run alone, after the others, for their own answer --
        a conflict with an append of the same group included."""
        metrics.STORE_GROUP_SIZE.labels(self.db.name).observe(len(tickets))
        together, alone = list(tickets), list[Ticket[Append, list[dict[str, Any]]]]()
        with self._append_lock:
            while len(together) > 1 and len(alone) < MAX_GROUP_FAILURES:
                try:
                    written = self._transaction([t.request for t in together])
                except AppendFailed as failed:
                    alone.append(together.pop(failed.index))
                    continue
                except Exception:  # noqa: BLE001 - not one append's doing (the commit): each alone
                    log.warning("group commit of %d appends failed; committing each alone",
                                len(together), exc_info=True)
                    break
                for ticket, envelopes in zip(together, written, strict=True):
                    ticket.resolve(envelopes)
                together = []
            for ticket in together + alone:
                try:
                    ticket.resolve(self._transaction([ticket.request])[0])
                except AppendFailed as failed:
                    ticket.fail(self._as_contract_error(ticket.request, failed.error))
                except Exception as exc:  # noqa: BLE001 - this append's answer, raised to its writer
                    ticket.fail(exc)
        committed = sorted((e for t in tickets if t.done and not t.failed for e in t.outcome()),
                           key=lambda e: e["position"])
        if committed:
            self._hand_over(committed)
            self.appended(len(committed))

    def _hand_over(self, committed: list[dict[str, Any]]) -> None:
        """Give the relay what was just committed, so it need not read it back."""
        if self.on_commit is None:
            return
        try:
            self.on_commit(committed)
        except Exception:  # noqa: BLE001 - the relay reads the store instead; the append stands
            log.warning("handing committed events to the relay failed", exc_info=True)

    def _transaction(self, appends: Sequence[Append]) -> list[list[dict[str, Any]]]:
        """One transaction for ``appends`` (positions taken once for all); raises
        AppendFailed naming the append whose writes or ``also`` failed."""
        tries = 0

        def write(session: ClientSession) -> list[list[dict[str, Any]]]:
            # with_transaction runs this again after a TransientTransactionError (a
            # WriteConflict with another writer's open transaction, one orphaned by a
            # kill -9 included): pause first, so a wait until the store reaps an orphan
            # costs a few dozen quick tries instead of hundreds back to back.
            nonlocal tries
            if tries:
                time.sleep(retry_pause(tries))
            tries += 1
            self._count_transaction()
            position = self._take_positions(session, sum(len(a.pending) for a in appends))
            written = []
            for index, append in enumerate(appends):
                try:
                    envelopes = self._write_stream(session, append, position)
                    if append.also is not None:
                        append.also(session, envelopes)
                except PyMongoError as exc:
                    if exc.has_error_label("TransientTransactionError"):
                        raise  # the whole transaction is tried again
                    raise AppendFailed(index, exc) from exc
                except Exception as exc:
                    raise AppendFailed(index, exc) from exc
                position += len(append.pending)
                written.append(envelopes)
            return written

        with self.db.client.start_session() as session:
            started = time.perf_counter()
            written = session.with_transaction(write)
            metrics.STORE_TX_SECONDS.labels(self.db.name).observe(time.perf_counter() - started)
        return written

    def _as_contract_error(self, append: Append, error: Exception) -> Exception:
        """A duplicate (stream_id, version) is a ConcurrencyConflict; the rest unchanged."""
        if isinstance(error, (DuplicateKeyError, BulkWriteError)) and is_duplicate_key(error) \
                and is_duplicate_of(error, STREAM_VERSION_INDEX):
            return ConcurrencyConflict(
                {"current_version": self.current_version(append.stream_id),
                 "message": f"{append.stream_id} changed since version {append.head.version}"})
        return error

    def _count_transaction(self) -> None:
        with self._counted:
            self.transactions += 1
        metrics.STORE_TRANSACTIONS.labels(self.db.name).inc()

    def append_in(self, session: ClientSession, stream_id: str, stream_type: str,
                  head: StreamHead, pending: Sequence[PendingEvent], meta: Metadata,
                  occurred_at: str | None = None) -> list[dict[str, Any]]:
        """Append inside the caller's transaction: for a consumer whose reaction must be
        stored atomically with its checkpoint. The caller commits (a duplicate
        (stream_id, version) surfaces as the store's duplicate-key error and aborts it)
        and calls ``appended()`` after the commit; hold ``append_lock`` around it."""
        if not pending:
            return []
        first_position = self._take_positions(session, len(pending))
        return self._write_stream(session, Append(stream_id, stream_type, head, tuple(pending),
                                                  meta, None, occurred_at or utc_now()),
                                  first_position)

    def _take_positions(self, session: ClientSession, count: int) -> int:
        """Reserve ``count`` positions from the counter; return the first."""
        counter = self.counters.find_one_and_update(
            {"_id": "position"}, {"$inc": {"value": count}},
            upsert=True, return_document=True, session=session)
        return int(counter["value"]) - count + 1

    def _write_stream(self, session: ClientSession, append: Append,
                      first_position: int) -> list[dict[str, Any]]:
        """The append's events (numbered after its head: a duplicate (stream_id,
        version) if another writer was first) and its stream head."""
        envelopes = build_envelopes(append.stream_id, append.stream_type, append.head,
                                    append.pending, append.meta, append.occurred_at,
                                    first_position, self.signer)
        self.events.insert_many([dict(e, _id=e["event_id"]) for e in envelopes],
                                ordered=True, session=session)
        last = envelopes[-1]
        self.heads.replace_one({"_id": append.stream_id}, {
            name: last[name] for name in ("stream_type", "version", "hash", "position",
                                          "key_id", "signature")},
            upsert=True, session=session)
        return envelopes

    @property
    def append_lock(self) -> threading.Lock:
        """The lock every append of this process holds. Hold it around a transaction
        that calls ``append_in``: writers in one process would only collide on the
        position counter and retry, again and again under load."""
        return self._append_lock

    def appended(self, count: int = 0) -> None:
        """Wake the relay after a commit that ``append_in`` took part in (``count``: how
        many events it appended, for the metrics)."""
        if count:
            metrics.EVENTS_APPENDED.labels(self.db.name).inc(count)
        if self.on_append is not None:
            self.on_append()

    # -- reading ---------------------------------------------------------------------
    def stream(self, stream_id: str, after_version: int = 0,
               up_to_version: int | None = None, upcast: bool = True,
               session: ClientSession | None = None) -> list[dict[str, Any]]:
        """The stream's events in version order (upcast unless ``upcast=False``)."""
        query: dict[str, Any] = {"stream_id": stream_id, "version": {"$gt": after_version}}
        if up_to_version is not None:
            query["version"]["$lte"] = up_to_version
        docs = self.events.find(query, {"_id": 0}, session=session).sort("version", ASCENDING)
        return [self.upcasters.upcast(d) if upcast else d for d in docs]

    def read_all(self, after_position: int = 0, limit: int = 1000,
                 upcast: bool = False) -> list[dict[str, Any]]:
        """Every event after ``after_position`` in global order, at most ``limit``.

        First the closed range of the next ``limit`` positions: the store's cost grows
        with the documents a query matches, not with ``limit``, so an open range read
        from far back would touch the whole rest of the log for every page. Only when
        that range is short (the end of the log, or gaps in the positions) is the rest
        read with an open range."""
        window = {"$gt": after_position, "$lte": after_position + limit}
        docs = list(self.events.find({"position": window}, {"_id": 0}).sort("position", ASCENDING))
        if len(docs) < limit:
            docs += self.events.find({"position": {"$gt": after_position + limit}}, {"_id": 0}) \
                .sort("position", ASCENDING).limit(limit - len(docs))
        return [self.upcasters.upcast(d) if upcast else d for d in docs]

    def current_version(self, stream_id: str) -> int:
        last = self.events.find_one({"stream_id": stream_id}, {"version": 1},
                                    sort=[("version", DESCENDING)])
        return int(last["version"]) if last else 0

    def last_position(self) -> int:
        last = self.events.find_one({}, {"position": 1}, sort=[("position", DESCENDING)])
        return int(last["position"]) if last else 0

    def stream_heads(self, after_stream_id: str = "", limit: int = 1000) -> list[dict[str, Any]]:
        """Recorded stream heads ``{stream_id, version, hash, position, key_id,
        signature}`` in stream id order, after ``after_stream_id``."""
        docs = self.heads.find({"_id": {"$gt": after_stream_id}}).sort("_id", ASCENDING).limit(limit)
        return [{"stream_id": d.pop("_id"), **d} for d in docs]

    def heads_page(self, after_stream_id: str = "", limit: int = 1000) -> dict[str, Any]:
        """``read_heads``' answer: ``{heads: [{stream_id, stream_type, version, hash,
        position, key_id, signature}], last_stream_id}`` (an empty page at the end)."""
        heads = self.stream_heads(after_stream_id, limit)
        return {"heads": heads, "last_stream_id": heads[-1]["stream_id"] if heads else after_stream_id}

    def head(self, stream_id: str) -> dict[str, Any] | None:
        doc = self.heads.find_one({"_id": stream_id})
        return None if doc is None else {"stream_id": doc.pop("_id"), **doc}

    # -- auditing --------------------------------------------------------------------
    def verify(self, stream_ids: Iterable[str] | None = None,
               batch_size: int = 2000) -> dict[str, Any]:
        """Check the given streams (all when None): every hash, link and signature, and
        that each stream still reaches its recorded head; report breaks."""
        signatures = None if self.keys is None else \
            functools.partial(self.keys.problems, producer=self.signer.service)
        if stream_ids is None:
            heads = {h["stream_id"]: h for h in self._all_heads(batch_size)}
            checker, broken = ChainChecker(signatures, heads), []
            position = 0
            while batch := self.read_all(after_position=position, limit=batch_size):
                for event in batch:
                    broken.extend(checker.feed(event))
                position = int(batch[-1]["position"])
        else:
            stream_ids = list(stream_ids)
            heads = {s: h for s in stream_ids if (h := self.head(s)) is not None}
            checker, broken = ChainChecker(signatures, heads), []
            for stream_id in stream_ids:
                for event in self.stream(stream_id, upcast=False):
                    broken.extend(checker.feed(event))
        broken.extend(checker.head_breaks(self.head))
        return {"ok": not broken, "checked": checker.checked, "broken": broken}

    def all_heads(self, batch_size: int = 1000) -> list[dict[str, Any]]:
        """Every recorded stream head, in stream id order."""
        return self._all_heads(batch_size)

    def _all_heads(self, batch_size: int) -> list[dict[str, Any]]:
        heads, after = [], ""
        while page := self.stream_heads(after, batch_size):
            heads.extend(page)
            after = page[-1]["stream_id"]
        return heads


def retry_pause(tries: int) -> float:
    """Seconds to wait before another try of a transaction that met a conflict: doubling
    from 5 ms up to 100 ms, jittered so writers that collided do not meet again."""
    return min(RETRY_PAUSE_MAX, RETRY_PAUSE_FIRST * 2 ** (tries - 1)) * random.uniform(0.5, 1.0)


def build_envelopes(stream_id: str, stream_type: str, head: StreamHead,
                    pending: Sequence[PendingEvent], meta: Metadata, occurred_at: str,
                    first_position: int, signer: SigningKey | None = None
                    ) -> list[dict[str, Any]]:
    """Number, chain, hash and (given a signer) sign the events of one append
    (positions from first_position)."""
    envelopes: list[dict[str, Any]] = []
    prev_hash = head.hash or GENESIS_HASH
    for offset, event in enumerate(pending):
        envelope: dict[str, Any] = {
            "event_id": uuid.uuid4().hex,
            "stream_id": stream_id,
            "stream_type": stream_type,
            "version": head.version + offset + 1,
            "position": first_position + offset,
            "type": event.type,
            "schema_version": event.schema_version,
            "occurred_at": occurred_at,
            "actor": dict(meta.actor),
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
            "data": dict(event.data),
            "prev_hash": prev_hash,
        }
        envelope["hash"] = compute_hash(envelope)
        if signer is not None:
            envelope["key_id"], envelope["signature"] = signer.key_id, signer.sign(envelope["hash"])
        prev_hash = envelope["hash"]
        envelopes.append(envelope)
    return envelopes
