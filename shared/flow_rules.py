"""When an approval flow triggers on an invoice change: the rule both the invoice service
(deciding whether a change is held, before it is stored) and the approval service
(opening after-the-fact requests) evaluate, so the two can never disagree.

A flow here is the plain dict the approval service keeps (``flows`` state, also
replicated to the invoice service): ``id``, ``version``, ``created_at``, ``active``,
``hold``, ``watched_fields``, ``trigger_on_create``, ``condition``, ``condition_kinds``."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from shared.events.aggregate import is_empty
from shared.invoice_events import INVOICE_CREATED, INVOICE_FIELDS_CHANGED
from shared.query import Catalog, Condition, FieldSpec, evaluate, parse_filters, parse_match


def condition_parts(raw: Any) -> tuple[Any, Any]:
    """A condition is a filter list (all must hold) or ``{"filters": [...], "match": ...}``."""
    if isinstance(raw, Mapping):
        return raw.get("filters"), raw.get("match")
    return raw, None


def parse_condition(raw: Any, kinds: Mapping[str, str]) -> tuple[tuple[Condition, ...], str]:
    """The stored condition as parsed conditions, with the kinds recorded at definition."""
    filters, match = condition_parts(raw)
    catalog = Catalog({name: FieldSpec(kind) for name, kind in kinds.items()})
    return parse_filters(filters, catalog, path="condition"), parse_match(match)


def holds(flow: Mapping[str, Any]) -> bool:
    """Whether the flow holds a change until it is approved (flows defined before
    ``hold`` existed review after the fact, as they did)."""
    return flow.get("hold") is True


def changed_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """What the event changed, ``{field: {from, to}}`` (a create: every filled field)."""
    if envelope["type"] == INVOICE_FIELDS_CHANGED:
        return copy.deepcopy(dict(envelope["data"]["changes"]))
    if envelope["type"] == INVOICE_CREATED:
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
    """Whether this active flow triggers on this invoice event (``envelope`` needs only
    ``type`` and ``data``), its condition evaluated on the state after it."""
    if not flow.get("active") or new_state.get("status") == "void":
        return False
    if envelope["type"] == INVOICE_CREATED:
        hit = bool(flow.get("trigger_on_create"))
    elif envelope["type"] == INVOICE_FIELDS_CHANGED:
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
