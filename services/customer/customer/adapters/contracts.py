"""MongoDB adapter of ContractRepository: contract streams plus a ``contracts`` state
collection whose unique index keeps contract numbers unique."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from customer.adapters.records import MongoRecordRepository, from_document
from customer.domain.model import Contract, number_taken
from shared.mongo import is_duplicate_of

NUMBER_INDEX = "contract_number_unique"


class MongoContractRepository(MongoRecordRepository[Contract]):
    aggregate_type = Contract
    collection_name = "contracts"

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        db["contracts"].create_index([("number", ASCENDING)], unique=True, name=NUMBER_INDEX)
        db["contracts"].create_index([("customer_id", ASCENDING), ("created_at", ASCENDING)],
                                     name="customer_created")

    def number_taken(self, number: str) -> bool:
        return self.states.find_one({"number": number}, {"_id": 1}) is not None

    def of_customer(self, customer_id: str) -> list[dict[str, Any]]:
        docs = self.states.find({"customer_id": customer_id}) \
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return [from_document(d) for d in docs]

    def on_duplicate(self, record: Contract, exc: DuplicateKeyError) -> None:
        if is_duplicate_of(exc, NUMBER_INDEX):
            # A new contract has no fields yet: the number is in its pending event.
            number = next((e.data.get("number") for e in record.pending), None)
            raise number_taken(number) from None
