"""MongoDB adapter of FlowRepository: flow streams in the shared store plus a ``flows``
state collection (the current version of each flow) written in the same transaction."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from approval.domain.events import STREAM_FLOW
from approval.domain.flow import Flow
from shared.errors import NotFound
from shared.events.repository import AggregateRepository
from shared.events.store import EventStore


class MongoFlowRepository(AggregateRepository[Flow]):
    aggregate_type = Flow

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        super().__init__(store, db["flows"])

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        db["flows"].create_index([("active", ASCENDING)], name="active")

    def state_document(self, flow: Flow) -> dict[str, Any]:
        doc = flow.to_dict()
        doc["_id"] = doc.pop("id")
        doc["condition_kinds"] = dict(flow.definition.get("condition_kinds") or {})
        return doc

    def load_version(self, flow_id: str, version: int) -> Flow:
        events = self.store.stream(flow_id, up_to_version=version)
        if not events or events[0].get("stream_type") != STREAM_FLOW or len(events) < version:
            raise NotFound(f"flow {flow_id} has no version {version}")
        return Flow.replay(flow_id, events)

    def all(self) -> list[dict[str, Any]]:
        return [_public(d) for d in self.states.find({}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])]

    def active(self, session: ClientSession | None = None) -> list[dict[str, Any]]:
        """Active flows with what triggering needs (``condition_kinds`` included)."""
        docs = self.states.find({"active": True}, session=session)
        return [dict(d, id=d.pop("_id")) for d in docs]


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    doc.pop("condition_kinds", None)
    return doc
