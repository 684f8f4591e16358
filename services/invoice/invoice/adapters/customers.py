"""The invoice service's view of customers, contracts and payments.

A local replica fed by the customer service's events (through the shared consumer base)
answers link checks without a network hop; a miss (an event still in flight) falls back
to an RPC call, so a customer created a moment ago can be invoiced at once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pymongo.database import Database

from shared.customer_events import CUSTOMER_EVENTS, values_set
from shared.events.unit_of_work import Transaction

KINDS = ("customer", "contract", "payment")
Lookup = Callable[[str, str], Mapping[str, Any] | None]


class CustomerReplica:
    """Applies customer-service events to three small replica collections."""

    def __init__(self, db: Database[Any]) -> None:
        self.db = db

    def collection(self, kind: str) -> Any:
        return self.db[f"replica_{kind}s"]

    def apply(self, envelope: Mapping[str, Any], tx: Transaction) -> None:
        kind = envelope.get("stream_type")
        if kind not in KINDS or envelope["type"] not in CUSTOMER_EVENTS:
            return
        values = values_set(envelope)
        values.pop("_id", None)
        self.collection(kind).update_one({"_id": envelope["stream_id"]}, {"$set": values},
                                         upsert=True, session=tx.session)

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        doc = self.collection(kind).find_one({"_id": record_id})
        if doc is not None:
            doc["id"] = doc.pop("_id")
        return doc


class ReplicatedCustomerDirectory:
    """CustomerDirectory: the replica first, then the customer service itself."""

    def __init__(self, replica: CustomerReplica, fallback: Lookup | None) -> None:
        self.replica = replica
        self.fallback = fallback
        # one directory serves one call: an import's batch names a customer once per row
        self._found: dict[tuple[str, str], Mapping[str, Any] | None] = {}

    def _find(self, kind: str, record_id: str) -> Mapping[str, Any] | None:
        if (kind, record_id) in self._found:
            return self._found[(kind, record_id)]
        found: Mapping[str, Any] | None = self.replica.get(kind, record_id)
        if found is None and self.fallback is not None:
            found = self.fallback(kind, record_id)
        self._found[(kind, record_id)] = found
        return found

    def customer(self, customer_id: str) -> Mapping[str, Any] | None:
        return self._find("customer", customer_id)

    def contract(self, contract_id: str) -> Mapping[str, Any] | None:
        return self._find("contract", contract_id)

    def payment(self, payment_id: str) -> Mapping[str, Any] | None:
        return self._find("payment", payment_id)
