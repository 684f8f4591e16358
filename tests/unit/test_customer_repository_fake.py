"""The in-memory CustomerRepository honours the port's contract."""
import pytest

from tests.contracts.customer_repository import CustomerRepositoryContract
from tests.support.fakes import FakeCustomerRepository, InMemoryEventLog


class TestFakeCustomerRepository(CustomerRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeCustomerRepository:
        return FakeCustomerRepository(InMemoryEventLog())
