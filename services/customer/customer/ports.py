"""The ports the application needs; the MongoDB adapters implement them."""
from __future__ import annotations

from typing import Any, Protocol

from customer.domain.model import Contract, Customer, Payment
from shared.events.envelope import Metadata
from shared.idempotency import IdempotencyKey, KeyRecord


class StateAudit(Protocol):
    def state_breaks(self, record_ids: Any = None) -> list[dict[str, Any]]:
        """State documents that differ from the fold of their events (all when None):
        ``[{invoice_id, version, reason}]`` (``invoice_id`` names the stream)."""


class Records(Protocol):
    """What an idempotent create needs of a repository (shared.idempotency)."""

    def save(self, record: Any, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        """Append a record's events with its state and ``key`` (naming this record) in
        one transaction; KeyTaken when another call stored ``key`` first."""

    def get(self, record_id: str) -> dict[str, Any] | None:
        """The current state, or None."""

    def created_with(self, key: IdempotencyKey) -> KeyRecord | None:
        """What the save that stored this idempotency key recorded, if one did."""


class CustomerRepository(StateAudit, Records, Protocol):
    def load(self, customer_id: str) -> Customer:
        """The customer as its events fold; NotFound when there is none."""

    def save(self, customer: Customer, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        """Append the pending events atomically with the state document (and ``key``);
        ConcurrencyConflict if the stream moved since it was loaded."""

    def get(self, customer_id: str) -> dict[str, Any] | None:
        """The current state (as of the last append), or None."""

    def page(self, name_contains: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
        """``{items, next_cursor}`` in name order; ``name_contains`` ignores case;
        ``cursor`` is a ``next_cursor`` from an earlier page (ValidationError if not)."""


class ContractRepository(StateAudit, Records, Protocol):
    def load(self, contract_id: str) -> Contract:
        """The contract as its events fold; NotFound when there is none."""

    def save(self, contract: Contract, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        """Append with the state document (and ``key``); Conflict if the number is taken."""

    def get(self, contract_id: str) -> dict[str, Any] | None:
        """The current state, or None."""

    def number_taken(self, number: str) -> bool:
        """Whether a contract with this number exists."""

    def of_customer(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's contracts, oldest first."""


class PaymentRepository(StateAudit, Records, Protocol):
    def save(self, payment: Payment, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        """Append with the state document (and ``key``)."""

    def get(self, payment_id: str) -> dict[str, Any] | None:
        """The current state, or None."""

    def find(self, contract_id: str | None, customer_id: str | None) -> list[dict[str, Any]]:
        """Payments matching every given link (all when none), by ``received_on``."""


class EventLog(Protocol):
    """The raw view of the store (the shared EventStore implements it)."""

    def stream(self, stream_id: str, after_version: int = 0,
               up_to_version: int | None = None, upcast: bool = True) -> list[dict[str, Any]]:
        """One stream's envelopes in version order."""

    def current_version(self, stream_id: str) -> int:
        """The stream's last version (0 when it does not exist)."""

    def read_all(self, after_position: int = 0, limit: int = 1000,
                 upcast: bool = False) -> list[dict[str, Any]]:
        """Stored envelopes after a position, in global order."""

    def heads_page(self, after_stream_id: str = "", limit: int = 1000) -> dict[str, Any]:
        """{heads, last_stream_id}: recorded stream heads in stream id order."""

    def verify(self, stream_ids: Any = None) -> dict[str, Any]:
        """{ok, checked, broken}: chains, signatures and heads of the given streams
        (every stream when None)."""
