"""What the three MongoDB repositories share: the record's stream in the shared event
store plus a state collection, written in the same transaction (fast reads, unique
indexes that reject a whole append)."""
from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pymongo.database import Database

from customer.domain.model import Record
from shared.events.repository import AggregateRepository
from shared.events.store import EventStore

R = TypeVar("R", bound=Record)


class MongoRecordRepository(AggregateRepository[R]):
    """Subclasses name the record type and collection; hooks add derived fields."""

    collection_name: ClassVar[str]
    # Derived fields kept for queries only, never returned.
    internal_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        super().__init__(store, db[self.collection_name])
        self.db = db

    def get(self, record_id: str) -> dict[str, Any] | None:
        doc = self.states.find_one({"_id": record_id}, self._projection())
        return None if doc is None else from_document(doc)

    # -- hooks -----------------------------------------------------------------------
    def state_document(self, record: R) -> dict[str, Any]:
        doc = record.to_dict()
        doc["_id"] = doc.pop("id")
        return doc

    def _projection(self) -> dict[str, int] | None:
        return {name: 0 for name in self.internal_fields} or None


def from_document(doc: dict[str, Any]) -> dict[str, Any]:
    record_id = doc.pop("_id")
    return {"id": record_id, **doc}
