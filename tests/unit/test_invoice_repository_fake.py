"""The in-memory InvoiceRepository honours the port's contract."""
import pytest

from tests.contracts.invoice_repository import InvoiceRepositoryContract
from tests.support.fakes import FakeInvoiceRepository, InMemoryEventLog


class TestFakeInvoiceRepository(InvoiceRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeInvoiceRepository:
        return FakeInvoiceRepository(InMemoryEventLog())
