"""When an invoice event opens a request: the invoice state folded from its events
(the approval service's small replica) and the trigger rule on it.

Conditions are evaluated on the invoice's state right after the triggering event, so
the replica is folded in the same tracked step that decides (fetching the invoice by
RPC instead would see a later state when edits follow each other quickly)."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from approval.domain import events as ev
from approval.domain.flow import parse_condition
from shared.events.aggregate import is_empty
from shared.invoice_events import fold as fold_invoice  # noqa: F401 - the one invoice fold
from shared.query import evaluate


def changed_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """What the event changed, ``{field: {from, to}}`` (a create: every filled field)."""
    if envelope["type"] == ev.INVOICE_FIELDS_CHANGED:
        return copy.deepcopy(dict(envelope["data"]["changes"]))
    if envelope["type"] == ev.INVOICE_CREATED:
        changes: dict[str, Any] = {}
        for name, value in (envelope["data"].get("fields") or {}).items():
            if name == "custom":
                changes.update({f"custom.{k}": {"from": None, "to": v}
                                for k, v in (value or {}).items() if not is_empty(v)})
            elif not is_empty(value):
                changes[name] = {"from": None, "to": copy.deepcopy(value)}
        return changes
    return {}


def triggers(flow: Mapping[str, Any], envelope: Mapping[str, Any],
             new_state: Mapping[str, Any]) -> bool:
    """Whether this active flow opens a request for this invoice event."""
    if not flow.get("active") or new_state.get("status") == "void":
        return False
    if envelope["type"] == ev.INVOICE_CREATED:
        hit = bool(flow.get("trigger_on_create"))
    elif envelope["type"] == ev.INVOICE_FIELDS_CHANGED:
        hit = bool(set(flow.get("watched_fields") or []) & set(envelope["data"]["changes"]))
    else:
        hit = False
    if not hit:
        return False
    conditions, match = parse_condition(flow.get("condition"), flow.get("condition_kinds") or {})
    return evaluate(conditions, match, new_state)


def first_triggered(flows: Iterable[Mapping[str, Any]], envelope: Mapping[str, Any],
                    new_state: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One request per triggering event: the earliest defined flow that triggers."""
    ordered = sorted(flows, key=lambda f: (f.get("created_at") or "", f["id"]))
    return next((f for f in ordered if triggers(f, envelope, new_state)), None)
