"""The approval store's repositories bound to one unit of work's transaction: what the
invoice-event reaction works with inside the StreamTracker's transaction
(ports.ReactionRepositories), so that the reaction itself never holds a session."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from approval.adapters.flows import MongoFlowRepository
from approval.adapters.invoice_replica import InvoiceReplica
from approval.adapters.requests import MongoRequestRepository
from approval.domain.request import ApprovalRequest
from shared.events.envelope import Metadata
from shared.events.unit_of_work import Transaction


class MongoReactionRepositories:
    def __init__(self, tx: Transaction, replica: InvoiceReplica,
                 flows: MongoFlowRepository, requests: MongoRequestRepository) -> None:
        self.tx, self.session = tx, tx.session
        self.replica, self.flows, self.requests = replica, flows, requests

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        return self.replica.get(invoice_id, self.session)

    def put_invoice(self, state: Mapping[str, Any]) -> None:
        self.replica.put(state, self.session)

    def active_flows(self) -> list[dict[str, Any]]:
        return self.flows.active(self.session)

    def pending_requests(self, invoice_id: str, held: bool) -> list[str]:
        return self.requests.pending_for_invoice(invoice_id, self.session, held=held)

    def load_request(self, request_id: str) -> ApprovalRequest:
        return self.requests.load(request_id, self.tx)

    def save_request(self, request: ApprovalRequest, meta: Metadata) -> None:
        self.requests.save(request, meta, tx=self.tx)


def in_transaction(replica: InvoiceReplica, flows: MongoFlowRepository,
                   requests: MongoRequestRepository) -> Callable[[Any], MongoReactionRepositories]:
    """The repositories inside a tracker's unit of work (its transaction)."""
    def bind(tx: Any) -> MongoReactionRepositories:
        return MongoReactionRepositories(tx, replica, flows, requests)
    return bind
