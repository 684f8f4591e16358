"""A customer-side event as a history line: who changed which fields from what to what
(the same line shape as an invoice's history)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from customer.domain import events as ev


def history_lines(envelopes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history of one customer, contract or payment, its events in version order."""
    return [history_entry(envelope) for envelope in envelopes]


def history_entry(envelope: Mapping[str, Any]) -> dict[str, Any]:
    data, event_type = envelope["data"], envelope["type"]
    if event_type == ev.CUSTOMER_UPDATED:
        changes = dict(data["changes"])
    elif event_type in (ev.CUSTOMER_CREATED, ev.CONTRACT_CREATED, ev.PAYMENT_RECEIVED):
        changes = {name: {"from": None, "to": value} for name, value in data.items()
                   if value not in (None, "", [])}
    else:
        changes = {}
    actor = envelope.get("actor") or {}
    return {"version": envelope["version"], "event_type": event_type,
            "occurred_at": envelope["occurred_at"],
            "actor": {"id": actor.get("id"), "name": actor.get("name")}, "changes": changes}
