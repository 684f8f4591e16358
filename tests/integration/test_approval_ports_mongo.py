"""The MongoDB approval request, notification and webhook adapters honour their contract."""
from typing import Any

import pytest

from approval.adapters.requests import MongoNotificationStore, MongoRequestRepository
from approval.adapters.webhooks import MongoDeliveries, MongoWebhooks
from shared.events.store import EventStore
from tests.contracts.approval_requests import ApprovalPorts, ApprovalPortsContract


class TestMongoApprovalPorts(ApprovalPortsContract):
    @pytest.fixture
    def ports(self, db: Any, store: EventStore) -> ApprovalPorts:
        MongoRequestRepository.ensure_indexes(db)
        MongoDeliveries.ensure_indexes(db)
        webhooks = MongoWebhooks(db)
        deliveries = MongoDeliveries(db, webhooks)
        requests = MongoRequestRepository(db, store, outbox=deliveries)
        return ApprovalPorts(requests, MongoNotificationStore(db), webhooks, deliveries)
