"""The base of every event-sourced aggregate (invoices, settings, customers, contracts,
payments): rebuilt by replaying its events.

A public command method of a subclass checks the rules and ``record``s the event it
decides on (``pending``); one small apply method per event type (named in the class's
``APPLY`` table) changes state and nothing else. State moves forward only through
``apply`` with a stored envelope, so what a command sees is always the fold of the store.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from shared.errors import NotFound
from shared.events.envelope import PendingEvent, StreamHead

Apply = Callable[[Any, Mapping[str, Any]], None]


@dataclass
class Aggregate:
    STREAM_TYPE: ClassVar[str] = ""
    APPLY: ClassVar[dict[str, Apply]] = {}

    id: str
    version: int = 0
    head: StreamHead = field(default_factory=StreamHead)
    created_at: str | None = None
    created_by: dict[str, Any] | None = None
    updated_at: str | None = None
    updated_by: dict[str, Any] | None = None
    pending: list[PendingEvent] = field(default_factory=list)

    def stream_type(self) -> str:
        return self.STREAM_TYPE

    def record(self, event_type: str, data: dict[str, Any], schema_version: int = 1) -> None:
        """Decide on an event; it changes state once stored and applied."""
        self.pending.append(PendingEvent(event_type, data, schema_version))

    def apply(self, envelope: Mapping[str, Any]) -> None:
        handler = self.APPLY.get(envelope["type"])
        if handler is None:
            raise ValueError(f"{type(self).__name__} cannot apply {envelope['type']}")
        handler(self, envelope["data"])
        self.version = int(envelope["version"])
        self.head = StreamHead(self.version, envelope["hash"])
        actor = envelope.get("actor") or {}
        self.updated_at = envelope["occurred_at"]
        self.updated_by = {"id": actor.get("id"), "name": actor.get("name")}
        if self.version == 1:
            self.created_at, self.created_by = self.updated_at, self.updated_by

    def audit_fields(self) -> dict[str, Any]:
        return {"version": self.version, "created_at": self.created_at,
                "created_by": self.created_by, "updated_at": self.updated_at,
                "updated_by": self.updated_by}

    @classmethod
    def replay(cls, aggregate_id: str, envelopes: Iterable[Mapping[str, Any]]) -> Self:
        """Fold stored envelopes; NotFound when there are none."""
        aggregate = cls(id=aggregate_id)
        for envelope in envelopes:
            aggregate.apply(envelope)
        if aggregate.version == 0:
            raise NotFound(f"{cls.STREAM_TYPE or cls.__name__} {aggregate_id} not found")
        return aggregate


def is_empty(value: Any) -> bool:
    """None, "", [] and {} all mean "no value"."""
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) == 0
    return False


def differs(old: Any, new: Any) -> bool:
    """Whether setting ``new`` over ``old`` is a change worth an event (empty == empty)."""
    return (None if is_empty(old) else old) != (None if is_empty(new) else new)
