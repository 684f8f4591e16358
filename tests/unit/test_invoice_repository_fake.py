"""The in-memory InvoiceRepository honours the port's contract."""
from typing import Any

import pytest

from tests.contracts.invoice_repository import InvoiceRepositoryContract
from tests.support.fakes import FakeInvoiceRepository, InMemoryEventLog


class TestFakeInvoiceRepository(InvoiceRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeInvoiceRepository:
        return FakeInvoiceRepository(InMemoryEventLog())

    @pytest.fixture
    def tamper(self, repository: FakeInvoiceRepository) -> Any:
        def change(invoice_id: str, field: str, value: Any) -> None:
            repository.states[invoice_id][field] = value
        return change
