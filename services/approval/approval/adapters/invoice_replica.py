"""The approval service's replica of invoice states, folded from invoice events in the
same transaction as the tracker's checkpoint (and any request the event opens).

Each document also carries ``awaiting_outcome`` (active, and pending or holding a
change), indexed: the reconcile timer reads those by one equality instead of an ``$or``
that the local store answers by scanning every invoice (issue 14)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

FLAG = "awaiting_outcome"
BACKFILLED = "awaiting_outcome_flag"  # replica_meta: the flag was set on older documents


def awaits_outcome(state: Mapping[str, Any]) -> bool:
    """Whether the invoice still waits for an approval outcome (pending, or a held change)."""
    return state.get("status") == "active" and (
        state.get("approval_status") == "pending" or isinstance(state.get("pending_change"), dict))


def replica_document(state: Mapping[str, Any]) -> dict[str, Any]:
    """The stored document of an invoice state (the bulk fixture writes it too)."""
    return dict(state, _id=state["id"], **{FLAG: awaits_outcome(state)})


class InvoiceReplica:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db["invoice_replica"]

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        """The flag's index; once, the flag on documents stored before it existed (one
        scan, then never again)."""
        db["invoice_replica"].create_index([(FLAG, ASCENDING)], name=FLAG)
        if db["replica_meta"].find_one({"_id": BACKFILLED}) is None:
            db["invoice_replica"].update_many(
                {FLAG: {"$exists": False}, "status": "active", "$or": [
                    {"approval_status": "pending"}, {"pending_change": {"$type": "object"}}]},
                {"$set": {FLAG: True}})
            db["replica_meta"].update_one({"_id": BACKFILLED}, {"$set": {"done": True}}, upsert=True)

    def get(self, invoice_id: str, session: ClientSession | None = None) -> dict[str, Any] | None:
        doc = self.collection.find_one({"_id": invoice_id}, {FLAG: 0}, session=session)
        if doc is not None:
            doc.pop("_id")
        return doc

    def put(self, state: Mapping[str, Any], session: ClientSession | None = None) -> None:
        self.collection.replace_one({"_id": state["id"]}, replica_document(state), upsert=True,
                                    session=session)

    def awaiting_outcome(self, limit: int = 200) -> list[dict[str, Any]]:
        """Invoices that still wait for an approval outcome (pending, or a held change):
        the reconcile timer checks them against their latest request."""
        docs = self.collection.find({FLAG: True}, {FLAG: 0}).limit(limit)
        return [dict(d, id=d.pop("_id")) for d in docs]
