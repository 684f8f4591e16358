"""The in-memory approval request, notification and webhook ports honour their contract."""
import pytest

from tests.contracts.approval_requests import ApprovalPorts, ApprovalPortsContract
from tests.support.fakes import (
    FakeDeliveries,
    FakeNotificationStore,
    FakeRequestRepository,
    FakeWebhooks,
    InMemoryEventLog,
)


class TestFakeApprovalPorts(ApprovalPortsContract):
    @pytest.fixture
    def ports(self) -> ApprovalPorts:
        webhooks, notifications = FakeWebhooks(), FakeNotificationStore()
        deliveries = FakeDeliveries(webhooks)
        requests = FakeRequestRepository(InMemoryEventLog(), notifications, outbox=deliveries)
        return ApprovalPorts(requests, notifications, webhooks, deliveries)
