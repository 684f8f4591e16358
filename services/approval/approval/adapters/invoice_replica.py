"""The approval service's replica of invoice states, folded from invoice events in the
same transaction as the tracker's checkpoint (and any request the event opens)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.database import Database


class InvoiceReplica:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db["invoice_replica"]

    def get(self, invoice_id: str, session: ClientSession | None = None) -> dict[str, Any] | None:
        doc = self.collection.find_one({"_id": invoice_id}, session=session)
        if doc is not None:
            doc.pop("_id")
        return doc

    def put(self, state: Mapping[str, Any], session: ClientSession | None = None) -> None:
        self.collection.replace_one({"_id": state["id"]}, dict(state), upsert=True, session=session)

    def awaiting_outcome(self, limit: int = 200) -> list[dict[str, Any]]:
        """Invoices that still wait for an approval outcome (pending, or a held change):
        the reconcile timer checks them against their latest request."""
        docs = self.collection.find({"status": "active", "$or": [
            {"approval_status": "pending"}, {"pending_change": {"$type": "object"}}]}).limit(limit)
        return [dict(d, id=d.pop("_id")) for d in docs]
