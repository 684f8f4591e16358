"""MongoDB adapter of PaymentRepository: payment streams plus a ``payments`` state
collection indexed for the per-contract and per-customer lists."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database

from customer.adapters.records import MongoRecordRepository, from_document
from customer.domain.model import Payment

ORDER = [("received_on", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]


class MongoPaymentRepository(MongoRecordRepository[Payment]):
    aggregate_type = Payment
    collection_name = "payments"

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        db["payments"].create_index([("contract_id", ASCENDING), ("received_on", ASCENDING)],
                                    name="contract_received")
        db["payments"].create_index([("customer_id", ASCENDING), ("received_on", ASCENDING)],
                                    name="customer_received")

    def find(self, contract_id: str | None, customer_id: str | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if contract_id is not None:
            query["contract_id"] = contract_id
        if customer_id is not None:
            query["customer_id"] = customer_id
        return [from_document(d) for d in self.states.find(query).sort(ORDER)]
