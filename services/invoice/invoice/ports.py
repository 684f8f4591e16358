"""The ports the application needs; adapters implement them (MongoDB, RPC)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from invoice.domain.model import Invoice
from invoice.domain.settings import Setting
from shared.events.envelope import Metadata
from shared.idempotency import IdempotencyKey, KeyRecord


class InvoiceRepository(Protocol):
    def load(self, invoice_id: str, up_to_version: int | None = None,
             as_of: str | None = None) -> Invoice:
        """The invoice as its events fold (optionally only up to a version or time);
        NotFound when there is no such invoice (or none yet at that point)."""

    def save(self, invoice: Invoice, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        """Append the invoice's pending events atomically with its state (and ``key``,
        naming this invoice); ConcurrencyConflict if the stream moved, Conflict if
        invoice_no is taken, KeyTaken if another call stored ``key`` first."""

    def save_imported(self, invoice: Invoice, meta: Metadata, external_id: str) -> list[dict[str, Any]]:
        """``save`` a new invoice and record ``external_id`` -> its id in the same
        transaction; AlreadyImported (nothing written) when that external_id was
        imported before, also by a concurrent import."""

    def imported(self, external_ids: Iterable[str]) -> dict[str, str]:
        """``{external_id: invoice_id}`` for those of ``external_ids`` imported before."""

    def save_together(self, first: Invoice, second: Invoice, meta: Metadata,
                      key: IdempotencyKey | None = None) -> None:
        """Append both invoices' pending events and states in one transaction (a credit
        note and its original's CreditNoteIssued), and ``key`` naming ``second``;
        ConcurrencyConflict if either moved, KeyTaken as ``save``."""

    def created_with(self, key: IdempotencyKey) -> KeyRecord | None:
        """What the save that stored this idempotency key recorded, if one did."""

    def with_attachments(self) -> Iterable[dict[str, Any]]:
        """The state of every invoice that has (or had) attachments."""

    def state(self, invoice_id: str) -> dict[str, Any] | None:
        """The current state document (as of the last append), or None."""

    def invoice_no_taken(self, invoice_type: str, invoice_no: str, except_id: str | None) -> bool:
        """Whether an active invoice of this type already uses this invoice_no."""

    def next_number(self, year: int) -> str:
        """A new readable record number (gap-tolerant, never reused)."""

    def events(self, invoice_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        """The stream's stored envelopes (as written; hashes verify on them)."""

    def state_breaks(self, invoice_ids: Any = None) -> list[dict[str, Any]]:
        """State documents that differ from the fold of their events (all when None):
        ``[{invoice_id, version, reason}]``."""


class AttachmentStore(Protocol):
    """The attachment files (GridFS in the invoice database), by attachment id."""

    def put(self, attachment_id: str, invoice_id: str, filename: str, content_type: str,
            content: bytes) -> None:
        """Store a new file (before its InvoiceAttachmentAdded is appended)."""

    def get(self, attachment_id: str) -> bytes | None:
        """The file's bytes, or None when it is missing."""

    def delete(self, attachment_id: str) -> None:
        """Drop a file whose event was never appended (a failed add)."""


class SettingsRepository(Protocol):
    def get(self, kind: str, key: str) -> Setting | None:
        """``kind`` is 'invoice_type' or 'custom_field'."""

    def all(self, kind: str) -> list[Setting]:
        """Every setting of a kind, in key order."""

    def catalog(self) -> dict[str, dict[str, Setting]]:
        """Every setting at once: ``{kind: {key: Setting}}`` (one read)."""

    def save(self, setting: Setting, meta: Metadata) -> Any:
        """Append the setting's pending events with its state; Conflict on a new key taken."""


class CustomerDirectory(Protocol):
    def customer(self, customer_id: str) -> Mapping[str, Any] | None:
        """{id, name, ...} or None."""

    def contract(self, contract_id: str) -> Mapping[str, Any] | None:
        """{id, customer_id, number, ...} or None."""

    def payment(self, payment_id: str) -> Mapping[str, Any] | None:
        """{id, customer_id, contract_id, amount, ...} or None."""


class EventLog(Protocol):
    """The raw, global view of the store (the shared EventStore implements it)."""

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Stored envelopes after a position, in global order."""

    def stream(self, stream_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        """One stream's envelopes after a version, in version order."""

    def verify(self, stream_ids: Any = None) -> dict[str, Any]:
        """{ok, checked, broken} for the given streams (every stream when None)."""

    def heads_page(self, after_stream_id: str = "", limit: int = 1000) -> dict[str, Any]:
        """{heads, last_stream_id}: recorded stream heads in stream id order."""


class FlowRules(Protocol):
    """The invoice service's replica of the approval flows (their trigger rules). The
    approval service's ``define_flow`` / ``update_flow`` return only once it is here,
    so a change decided after that sees the flow."""

    def active(self) -> list[dict[str, Any]]:
        """The active flows (``shared.flow_rules`` shape)."""

    def put(self, flow: Mapping[str, Any]) -> bool:
        """Keep ``flow`` unless a later version of it is here already; True if kept."""
