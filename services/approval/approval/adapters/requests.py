"""MongoDB adapter of RequestRepository and NotificationStore.

Request streams live in the shared store; a ``requests`` state collection (the inbox:
``waiting_on``, ``involved``) and the ``notifications`` a change causes are written in
the same transaction as the events, by a command (``save``) or by the invoice-event
reaction inside its tracked unit of work (``save(..., tx=...)``)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from approval.adapters.webhooks import MongoDeliveries
from approval.domain.events import STREAM_REQUEST
from approval.domain.notifications import notifications_for
from approval.domain.request import PENDING, ApprovalRequest
from approval.domain.webhooks import webhook_events
from shared.errors import NotFound
from shared.events.repository import AggregateRepository
from shared.events.store import EventStore
from shared.events.unit_of_work import Transaction

MAX_LIST = 500


class MongoRequestRepository(AggregateRepository[ApprovalRequest]):
    aggregate_type = ApprovalRequest

    def __init__(self, db: Database[Any], store: EventStore,
                 outbox: MongoDeliveries | None = None) -> None:
        super().__init__(store, db["requests"])
        self.notifications = db["notifications"]
        self.outbox = outbox

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        requests = db["requests"]
        requests.create_index([("invoice_id", ASCENDING), ("invoice_version", ASCENDING)],
                              name="invoice_version")
        requests.create_index([("waiting_on", ASCENDING)], name="waiting_on")
        requests.create_index([("involved", ASCENDING), ("created_at", DESCENDING)], name="involved")
        requests.create_index([("status", ASCENDING), ("created_at", DESCENDING)], name="status")
        requests.create_index([("due_at", ASCENDING)], name="due_at",
                              partialFilterExpression={"due_at": {"$type": "string"}})
        db["notifications"].create_index([("recipient", ASCENDING), ("created_at", DESCENDING)],
                                         name="recipient")

    # -- writing ---------------------------------------------------------------------
    def state_document(self, request: ApprovalRequest) -> dict[str, Any]:
        doc = request.to_dict()
        doc["_id"] = doc.pop("id")
        doc["involved"] = request.involved()
        doc["decided_in_stage"] = request.decided_in_stage()
        return doc

    def write_state(self, before: ApprovalRequest, after: ApprovalRequest,
                    session: ClientSession) -> None:
        super().write_state(before, after, session)
        notes = notifications_for(before, after)
        if notes:
            self.notifications.insert_many(
                [dict(n.to_dict(), _id=f"{after.id}:{after.version}:{i}", created_at=after.updated_at,
                      read_by=[]) for i, n in enumerate(notes)], session=session)
            if self.outbox is not None:
                self.outbox.enqueue(webhook_events(after, notes), str(after.updated_at), session)

    # -- reading ---------------------------------------------------------------------
    def load(self, aggregate_id: str, tx: Transaction | None = None) -> ApprovalRequest:
        events = self.store.stream(aggregate_id, session=tx.session if tx is not None else None)
        if events and events[0].get("stream_type") != STREAM_REQUEST:
            raise NotFound(f"request {aggregate_id} not found")
        return ApprovalRequest.replay(aggregate_id, events)

    def pending_for_invoice(self, invoice_id: str, session: ClientSession | None = None,
                            held: bool | None = None) -> list[str]:
        query: dict[str, Any] = {"invoice_id": invoice_id, "status": PENDING}
        if held is not None:
            query["hold"] = True if held else {"$ne": True}
        docs = self.states.find(query, {"_id": 1}, session=session)
        return [d["_id"] for d in docs]

    def open_since(self) -> list[str]:
        """When each open (pending) request was created: for the operators' age gauge."""
        return [str(d["created_at"]) for d in self.states.find({"status": PENDING}, {"created_at": 1})]

    def state(self, request_id: str) -> dict[str, Any] | None:
        doc = self.states.find_one({"_id": request_id})
        return _internal(doc) if doc else None

    def for_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        docs = self.states.find({"invoice_id": invoice_id}).sort("invoice_version", ASCENDING)
        return [_internal(d) for d in docs]

    def latest_for_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        doc = self.states.find_one({"invoice_id": invoice_id}, sort=[("invoice_version", DESCENDING)])
        return _internal(doc) if doc else None

    def due(self, now: str, limit: int = 100) -> list[str]:
        """Pending requests whose current stage is past its due time (oldest due first)."""
        docs = self.states.find({"due_at": {"$type": "string", "$lte": now}, "status": PENDING},
                                {"_id": 1}).sort("due_at", ASCENDING).limit(limit)
        return [d["_id"] for d in docs]

    def waiting_on_any(self, entries: Iterable[str]) -> list[dict[str, Any]]:
        docs = self.states.find({"waiting_on": {"$in": list(entries)}}).sort("created_at", DESCENDING)
        return [_internal(d) for d in docs.limit(MAX_LIST)]

    def find(self, status: str | None, involving: Iterable[str] | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status
        if involving is not None:
            query["involved"] = {"$in": list(involving)}
        docs = self.states.find(query).sort("created_at", DESCENDING).limit(MAX_LIST)
        return [_internal(d) for d in docs]


class MongoNotificationStore:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db["notifications"]

    def for_recipients(self, recipients: list[str], reader: str,
                       unread_only: bool) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"recipient": {"$in": recipients}}
        if unread_only:
            query["read_by"] = {"$ne": reader}
        docs = self.collection.find(query).sort([("created_at", DESCENDING), ("_id", ASCENDING)])
        return [_notification(d, reader) for d in docs.limit(MAX_LIST)]

    def mark_read(self, ids: list[str], recipients: list[str], reader: str) -> int:
        result = self.collection.update_many({"_id": {"$in": ids}, "recipient": {"$in": recipients}},
                                             {"$addToSet": {"read_by": reader}})
        return int(result.matched_count)


def _internal(doc: dict[str, Any]) -> dict[str, Any]:
    """The state document with ``id``; it keeps the inbox keys (``involved``,
    ``decided_in_stage``) the use cases filter on and leave out of answers."""
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return doc


def _notification(doc: dict[str, Any], reader: str) -> dict[str, Any]:
    return {"id": doc["_id"], "kind": doc["kind"], "recipient": doc["recipient"],
            "request_id": doc["request_id"], "invoice_id": doc["invoice_id"],
            "stage": doc.get("stage"), "message": doc["message"],
            "created_at": doc.get("created_at"), "read": reader in (doc.get("read_by") or [])}
