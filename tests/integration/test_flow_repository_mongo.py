"""The MongoDB approval FlowRepository honours the port's contract."""
from typing import Any

import pytest

from approval.adapters.flows import MongoFlowRepository
from shared.events.store import EventStore
from tests.contracts.flow_repository import FlowRepositoryContract


class TestMongoFlowRepository(FlowRepositoryContract):
    @pytest.fixture
    def repository(self, db: Any, store: EventStore) -> MongoFlowRepository:
        MongoFlowRepository.ensure_indexes(db)
        return MongoFlowRepository(db, store)
