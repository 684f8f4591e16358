"""Helpers for the search e2e tests: wait until the projections show a write."""
from __future__ import annotations

from typing import Any

from shared.errors import NotFound
from tests.support.infra import wait_for


def view_at(hub: Any, invoice: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    """The search view of ``invoice`` once it shows the invoice's version."""
    def ready() -> dict[str, Any] | None:
        try:
            view = hub.search.get_invoice_view(invoice["id"])
        except NotFound:
            return None
        return view if view["version"] >= invoice["version"] else None
    return wait_for(ready, timeout=timeout, message=f"search view of {invoice['id']} v{invoice['version']}")  # type: ignore[no-any-return]


def settled(hub: Any, timeout: float = 30.0) -> None:
    """Wait until the search service has projected every stored event."""
    wait_for(lambda: hub.search.projection_status()["lag_events"] == 0, timeout=timeout,
             interval=0.1, message="search projections to catch up")
