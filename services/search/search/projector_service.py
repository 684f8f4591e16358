"""The search projector as a nameko service: invoice and customer events -> the views.
``nameko run search.service`` starts it beside the read service (search.service imports
it); it is a service of its own so that its workers, which wait for the projection lock,
never take the workers the read calls need."""
from __future__ import annotations

from typing import Any

from search.dependencies import SearchStorage, SearchStore
from shared import ops
from shared.events.consumer import event_stream


class SearchProjector:
    """Applies the delivered events (and any missed before them) to the served views, a
    batch of them per transaction (``event_stream(batch=True)``)."""

    name = "search_projector"

    observer = ops.WorkerObserver()
    storage: SearchStorage = SearchStore(catch_up=True)

    @event_stream("invoice", batch=True)
    def on_invoice_event(self, envelopes: list[dict[str, Any]]) -> None:
        """Invoices, invoice types and custom fields -> views and buckets."""
        self.storage.project("invoice", envelopes)

    @event_stream("customer", batch=True)
    def on_customer_event(self, envelopes: list[dict[str, Any]]) -> None:
        """Customers, contracts and payments -> their views and the invoices' joins."""
        self.storage.project("customer", envelopes)
