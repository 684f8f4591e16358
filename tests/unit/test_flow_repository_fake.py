"""The in-memory approval FlowRepository honours the port's contract."""
import pytest

from tests.contracts.flow_repository import FlowRepositoryContract
from tests.support.fakes import FakeFlowRepository, InMemoryEventLog


class TestFakeFlowRepository(FlowRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeFlowRepository:
        return FakeFlowRepository(InMemoryEventLog())
