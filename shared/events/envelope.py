"""The event envelope, its canonical form and the per-stream hash chain.

An envelope is a plain dict with the fields of the contract:
event_id, stream_id, stream_type, version, position, type, schema_version,
occurred_at, actor, correlation_id, causation_id, data, prev_hash, hash.

Its *wire* form (RabbitMQ, RPC) is JSON-safe: Decimals become strings. The hash is
sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the wire form
without ``hash`` -- which includes ``prev_hash``, chaining the stream.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64

ENVELOPE_FIELDS = (
    "event_id", "stream_id", "stream_type", "version", "position", "type",
    "schema_version", "occurred_at", "actor", "correlation_id", "causation_id",
    "data", "prev_hash", "hash",
)
# Outside the hash: the producer's signature over it, and the id of the key that made it.
SIGNATURE_FIELDS = ("key_id", "signature")
WIRE_FIELDS = ENVELOPE_FIELDS + SIGNATURE_FIELDS


@dataclass(frozen=True)
class PendingEvent:
    """An event decided by a domain object, not yet stored."""

    type: str
    data: Mapping[str, Any]
    schema_version: int = 1


@dataclass(frozen=True)
class StreamHead:
    """Where a stream stands: its last version and that event's hash."""

    version: int = 0
    hash: str = GENESIS_HASH

    @classmethod
    def of(cls, events: Iterable[Mapping[str, Any]]) -> StreamHead:
        head = cls()
        for event in events:
            head = cls(int(event["version"]), str(event["hash"]))
        return head


@dataclass
class Metadata:
    """Who caused an append and why; travels with every event it produces."""

    actor: Mapping[str, Any]
    correlation_id: str | None = None
    causation_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def metadata_for(actor: Any, correlation_id: str | None = None) -> Metadata:
    """The metadata of an append caused by ``actor`` (a shared.auth.Actor)."""
    return Metadata(actor=actor.to_dict(), correlation_id=correlation_id)


def to_wire(value: Any) -> Any:
    """Make a stored value JSON-safe: Decimal -> str, tuples -> lists, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value


def envelope_to_wire(envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_wire(envelope.get(name)) for name in WIRE_FIELDS}


def canonical_json(value: Any) -> bytes:
    return json.dumps(to_wire(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def compute_hash(envelope: Mapping[str, Any]) -> str:
    body = {name: envelope.get(name) for name in ENVELOPE_FIELDS if name != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


Signatures = Callable[[Mapping[str, Any]], list[str]]


class ChainChecker:
    """Checks events stream by stream as they come (in version order within a stream,
    any interleaving across streams): gaps, broken links, hashes that do not match,
    positions that do not grow with the version, and -- given ``signatures`` (a
    ``KeyRing.problems`` bound to the producer) -- signatures that do not match.

    ``heads`` (stream id -> ``{version, hash}``, kept apart from the events: the
    store's head index, or an exported file) are points each stream must still pass
    through: ``head_breaks`` reports a stream that ends before its head (a deleted
    tail) or passes it with another hash."""

    def __init__(self, signatures: Signatures | None = None,
                 heads: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.heads: dict[str, tuple[int, str]] = {}
        self.positions: dict[str, int] = {}
        self.signatures = signatures
        self.expected = dict(heads or {})
        self.passed: dict[str, bool] = {}
        self.checked = 0

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        stream_id, version = event["stream_id"], int(event["version"])
        last_version, last_hash = self.heads.get(stream_id, (0, GENESIS_HASH))
        broken = []
        if version != last_version + 1:
            broken.append(f"version gap: expected {last_version + 1}")
        if event.get("prev_hash") != last_hash:
            broken.append("prev_hash does not match the previous event's hash")
        if self.signatures is not None:
            broken.extend(self.signatures(event))
        elif compute_hash(event) != event.get("hash"):
            broken.append("hash does not match the event's content")
        position = event.get("position")
        if isinstance(position, int):
            if position <= self.positions.get(stream_id, 0):
                broken.append("position is not after the previous version's position")
            self.positions[stream_id] = position
        head = self.expected.get(stream_id)
        if head is not None and int(head["version"]) == version:
            self.passed[stream_id] = head.get("hash") == event.get("hash")
        self.heads[stream_id] = (version, str(event.get("hash")))
        self.checked += 1
        return [problem(stream_id, version, reason) for reason in broken]

    def head_breaks(self, recorded: Callable[[str], Mapping[str, Any] | None] | None = None
                    ) -> list[dict[str, Any]]:
        """Streams that do not pass through their expected head; with ``recorded``
        (stream id -> its head now, for streams begun after ``heads`` was read), also
        every stream that has no head at all."""
        broken = []
        for stream_id, head in self.expected.items():
            version = int(head["version"])
            if stream_id not in self.passed:
                last = self.heads.get(stream_id, (0, GENESIS_HASH))[0]
                broken.append(problem(stream_id, version,
                                      f"events missing: the stream ends at version {last}, "
                                      f"its head is version {version}"))
            elif not self.passed[stream_id]:
                broken.append(problem(stream_id, version,
                                      "the event at the stream's head has another hash"))
        if recorded is not None:
            for stream_id in self.heads.keys() - self.expected.keys():
                late = recorded(stream_id)
                if late is None:
                    broken.append(problem(stream_id, self.heads[stream_id][0],
                                          "stream has no recorded head"))
                elif int(late["version"]) > self.heads[stream_id][0]:
                    broken.append(problem(stream_id, int(late["version"]),
                                          "events missing: the stream ends before its head"))
        return broken


def problem(stream_id: str, version: int, reason: str) -> dict[str, Any]:
    return {"invoice_id": stream_id, "version": version, "reason": reason}


def chain_breaks(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check a sequence of events (each stream in version order)."""
    checker = ChainChecker()
    return [problem for event in events for problem in checker.feed(event)]
