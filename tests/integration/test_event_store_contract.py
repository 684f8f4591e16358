"""The MongoDB EventStore honours the same contract as the in-memory log of the fakes."""
import pytest

from shared.events.store import EventStore
from tests.contracts.event_store import EventLogContract


class TestMongoEventStore(EventLogContract):
    @pytest.fixture
    def log(self, store: EventStore) -> EventStore:
        return store
