"""The ports the use cases need; adapters/ implements them on MongoDB."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from approval.domain.flow import Flow
from approval.domain.request import ApprovalRequest
from shared.events.envelope import Metadata


class FlowRepository(Protocol):
    def load(self, flow_id: str) -> Flow:
        """The flow now; NotFound when there is none."""

    def load_version(self, flow_id: str, version: int) -> Flow:
        """The flow as of one of its versions; NotFound when it never had it."""

    def save(self, flow: Flow, meta: Metadata) -> list[dict[str, Any]]:
        """Append the pending events with the state; ConcurrencyConflict if the stream moved."""

    def all(self) -> list[dict[str, Any]]:
        """Every flow's current version, oldest first."""


class RequestRepository(Protocol):
    def load(self, request_id: str) -> ApprovalRequest:
        """Replay of the request's stream; NotFound when there is none."""

    def save(self, request: ApprovalRequest, meta: Metadata) -> list[dict[str, Any]]:
        """Append the pending events with the state and notifications, atomically."""

    def state(self, request_id: str) -> dict[str, Any] | None:
        """The request as of its last append, or None."""

    def for_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        """The invoice's requests, oldest trigger first."""

    def latest_for_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """The request opened by the invoice's latest triggering event."""

    def due(self, now: str, limit: int = 100) -> list[str]:
        """Ids of pending requests whose current stage is due at ``now``."""

    def waiting_on_any(self, entries: Iterable[str]) -> list[dict[str, Any]]:
        """Pending requests whose current stage waits on one of these entries."""

    def find(self, status: str | None, involving: Iterable[str] | None) -> list[dict[str, Any]]:
        """Requests by status, optionally only those involving one of the entries."""


class NotificationStore(Protocol):
    def for_recipients(self, recipients: list[str], reader: str,
                       unread_only: bool) -> list[dict[str, Any]]:
        """Notifications addressed to any of the recipients, newest first."""

    def mark_read(self, ids: list[str], recipients: list[str], reader: str) -> int:
        """Mark the reader's (visible) notifications read; how many matched."""


class EventLog(Protocol):
    """The raw view of the approval store (the shared EventStore implements it)."""

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Stored envelopes after a position, in global order."""

    def stream(self, stream_id: str, after_version: int = 0, up_to_version: int | None = None,
               upcast: bool = True) -> list[dict[str, Any]]:
        """One stream's envelopes in version order."""

    def verify(self, stream_ids: Any = None) -> dict[str, Any]:
        """{ok, checked, broken} for the given streams (every stream when None)."""

    def heads_page(self, after_stream_id: str = "", limit: int = 1000) -> dict[str, Any]:
        """{heads, last_stream_id}: recorded stream heads in stream id order."""


class Webhooks(Protocol):
    def add(self, webhook: Mapping[str, Any]) -> None:
        """Store a new webhook (with its secret)."""

    def all(self) -> list[dict[str, Any]]:
        """Every webhook, oldest first (with secrets: callers leave them out)."""

    def delete(self, webhook_id: str) -> bool:
        """Remove a webhook; False if there was none."""


class Deliveries(Protocol):
    """The webhook outbox (filled in the request's transaction, see the adapter)."""

    def claim_due(self, now: str, lease_until: str) -> dict[str, Any] | None:
        """One due delivery, leased to the caller until ``lease_until``; None if none."""

    def finish(self, delivery_id: str, changes: Mapping[str, Any]) -> None:
        """Record an attempt's result (and release the lease)."""

    def find(self, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
        """Deliveries (without bodies), oldest first."""


class FlowRules(Protocol):
    """The flows a reaction triggers by (read outside its transaction)."""

    def active(self) -> list[dict[str, Any]]:
        """Active flows with what triggering needs (``condition_kinds`` included)."""

    def load_version(self, flow_id: str, version: int) -> Flow:
        """The flow as of one of its versions; NotFound when it never had it."""


class ReactionRepositories(Protocol):
    """What one tracked reaction reads and writes, bound to the tracker's transaction:
    the reaction commits nothing itself, its writes land with the tracker's checkpoint."""

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """The replica's invoice state, or None before its first event."""

    def put_invoice(self, state: Mapping[str, Any]) -> None:
        """Store the replica's invoice state."""

    def active_flows(self) -> list[dict[str, Any]]:
        """Active flows as the transaction sees them."""

    def pending_requests(self, invoice_id: str, held: bool) -> list[str]:
        """Ids of the invoice's pending requests, held ones or the others."""

    def load_request(self, request_id: str) -> ApprovalRequest:
        """Replay of the request's stream as the transaction sees it."""

    def save_request(self, request: ApprovalRequest, meta: Metadata) -> None:
        """Append the request's pending events with its state and notifications."""
