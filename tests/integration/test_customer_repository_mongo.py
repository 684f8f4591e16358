"""The MongoDB CustomerRepository honours the port's contract."""
from typing import Any

import pytest

from customer.adapters.customers import MongoCustomerRepository
from shared.events.store import EventStore
from tests.contracts.customer_repository import CustomerRepositoryContract


class TestMongoCustomerRepository(CustomerRepositoryContract):
    @pytest.fixture
    def repository(self, db: Any, store: EventStore) -> MongoCustomerRepository:
        MongoCustomerRepository.ensure_indexes(db)
        return MongoCustomerRepository(db, store)
