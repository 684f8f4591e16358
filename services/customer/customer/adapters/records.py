"""What the three MongoDB repositories share: the record's stream in the shared event
store plus a state collection, written in the same transaction (fast reads, unique
indexes that reject a whole append)."""
from __future__ import annotations

import copy
from typing import Any, ClassVar, Generic, TypeVar

from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from customer.domain.model import Record
from shared.errors import NotFound
from shared.events.envelope import Metadata
from shared.events.store import EventStore

R = TypeVar("R", bound=Record)


class MongoRecordRepository(Generic[R]):
    """Subclasses name the record type and collection; hooks add derived fields."""

    record_type: ClassVar[type[Record]]
    collection_name: ClassVar[str]
    # Derived fields kept for queries only, never returned.
    internal_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        self.db = db
        self.store = store
        self.states = db[self.collection_name]

    def load(self, record_id: str) -> R:
        events = self.store.stream(record_id)
        if events and events[0].get("stream_type") != self.record_type.KIND:
            raise NotFound(f"{self.record_type.KIND} {record_id} not found")
        return self.record_type.replay(record_id, events)  # type: ignore[return-value]

    def save(self, record: R, meta: Metadata) -> list[dict[str, Any]]:
        def write_state(session: ClientSession, envelopes: list[dict[str, Any]]) -> None:
            # Fold onto a copy: the transaction may be retried with fresh envelopes.
            after = copy.deepcopy(record)
            for envelope in envelopes:
                after.apply(envelope)
            self.write_state(record, after, session)

        try:
            envelopes = self.store.append(record.id, self.record_type.KIND, record.head,
                                          record.pending, meta, also=write_state)
        except DuplicateKeyError as exc:
            self.on_duplicate(record, exc)
            raise
        for envelope in envelopes:
            record.apply(envelope)
        record.pending.clear()
        return envelopes

    def get(self, record_id: str) -> dict[str, Any] | None:
        doc = self.states.find_one({"_id": record_id}, self._projection())
        return None if doc is None else from_document(doc)

    # -- hooks -----------------------------------------------------------------------
    def write_state(self, before: R, after: R, session: ClientSession) -> None:
        """Replace the state document; ``before`` is the record as it was loaded."""
        self.states.replace_one({"_id": after.id}, self.state_document(after),
                                upsert=True, session=session)

    def state_document(self, record: R) -> dict[str, Any]:
        doc = record.to_dict()
        doc["_id"] = doc.pop("id")
        return doc

    def on_duplicate(self, record: R, exc: DuplicateKeyError) -> None:
        """Turn a violation of the collection's own unique index into a contract error."""

    def _projection(self) -> dict[str, int] | None:
        return {name: 0 for name in self.internal_fields} or None


def from_document(doc: dict[str, Any]) -> dict[str, Any]:
    record_id = doc.pop("_id")
    return {"id": record_id, **doc}
