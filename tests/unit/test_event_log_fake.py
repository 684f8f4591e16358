"""The in-memory event log of the fakes honours the event store's contract."""
import pytest

from tests.contracts.event_store import EventLogContract
from tests.support.fakes import InMemoryEventLog


class TestInMemoryEventLog(EventLogContract):
    @pytest.fixture
    def log(self) -> InMemoryEventLog:
        return InMemoryEventLog()
