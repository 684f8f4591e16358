"""The approval flow aggregate and the rules a definition must meet.

A flow is defined by an administrator; every change appends ApprovalFlowUpdated, so
each version stays in the stream (a running request keeps the stages of the version it
opened with: they are copied into its ApprovalRequestOpened event)."""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from approval.domain import events as ev
from shared.errors import ValidationError
from shared.events.aggregate import Aggregate
from shared.flow_rules import condition_parts, parse_condition
from shared.invoice_events import watchable_fields
from shared.query import Catalog, Condition, parse_filters, parse_match

APPROVER_PATTERN = re.compile(r"(user|role):[A-Za-z0-9_\-.@:]{1,64}\Z")
MODES = ("any", "all")
ON_TIMEOUT = ("remind", "escalate", "approve", "reject")
DEFINITION_KEYS = ("name", "watched_fields", "trigger_on_create", "condition",
                   "condition_kinds", "stages", "cc", "active", "hold")


@dataclass
class Flow(Aggregate):
    STREAM_TYPE: ClassVar[str] = ev.STREAM_FLOW

    definition: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def define(cls, flow_id: str, definition: Mapping[str, Any]) -> Flow:
        flow = cls(id=flow_id)
        flow.record(ev.FLOW_DEFINED, {k: copy.deepcopy(definition.get(k)) for k in DEFINITION_KEYS})
        return flow

    def update(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        """Record what differs from the current definition (nothing when all is equal)."""
        changes = {k: {"from": copy.deepcopy(self.definition.get(k)), "to": copy.deepcopy(definition.get(k))}
                   for k in DEFINITION_KEYS if self.definition.get(k) != definition.get(k)}
        if changes:
            self.record(ev.FLOW_UPDATED, {"changes": changes})
        return changes

    def conditions(self) -> tuple[tuple[Condition, ...], str]:
        return parse_condition(self.definition.get("condition"),
                               self.definition.get("condition_kinds") or {})

    def to_dict(self) -> dict[str, Any]:
        data = {k: copy.deepcopy(v) for k, v in self.definition.items() if k != "condition_kinds"}
        data["hold"] = data.get("hold") is True
        data["id"] = self.id
        data.update(self.audit_fields())
        return data

    def rule(self) -> dict[str, Any]:
        """What deciding a trigger needs (shared.flow_rules): the flow with its
        ``condition_kinds``; the invoice service keeps a replica of these."""
        return dict(self.to_dict(), condition_kinds=dict(self.definition.get("condition_kinds") or {}))

    def _apply_defined(self, data: Mapping[str, Any]) -> None:
        self.definition = copy.deepcopy(dict(data))

    def _apply_updated(self, data: Mapping[str, Any]) -> None:
        for key, change in data["changes"].items():
            self.definition[key] = copy.deepcopy(change["to"])


Flow.APPLY = {ev.FLOW_DEFINED: Flow._apply_defined, ev.FLOW_UPDATED: Flow._apply_updated}


# -- validation of a definition ---------------------------------------------------------
def validate_definition(definition: Mapping[str, Any], catalog: Catalog,
                        known_roles: Iterable[str]) -> dict[str, Any]:
    """Check a complete definition (shapes already checked at the edge) against the
    world: watched fields exist, the condition parses, approver roles exist. Returns the
    definition with ``condition_kinds`` filled in; raises ValidationError naming fields."""
    errors: dict[str, Any] = {}
    roles = set(known_roles)
    watched = list(definition.get("watched_fields") or [])
    for index, name in enumerate(watched):
        if not (name in watchable_fields() or (name.startswith("custom.") and catalog.kind(name))):
            errors.setdefault("watched_fields", {})[str(index)] = [
                f"unknown field {name!r}" + ("" if not name.startswith("custom.")
                                             else ": no custom field with that key")]
    if len(set(watched)) != len(watched):
        errors.setdefault("watched_fields", {}).setdefault("_schema", []).append("listed more than once")
    if not watched and not definition.get("trigger_on_create"):
        errors.setdefault("watched_fields", {}).setdefault("_schema", []).append(
            "watch at least one field or set trigger_on_create")
    kinds: dict[str, str] = {}
    try:
        filters, match = condition_parts(definition.get("condition"))
        if isinstance(definition.get("condition"), Mapping):
            unknown = set(definition["condition"]) - {"filters", "match"}
            if unknown:
                raise ValidationError({"condition": {k: ["unknown key (allowed: filters, match)"]
                                                     for k in sorted(unknown)}})
            filters = [] if filters is None else filters
        parse_match(match, path="condition.match")
        for condition in parse_filters(filters, catalog, path="condition"):
            kinds[condition.field] = condition.kind
    except ValidationError as exc:
        errors.update(exc.messages)
    for index, stage in enumerate(definition.get("stages") or []):
        bad = [a for a in stage["approvers"] + list(stage.get("escalate_to") or [])
               if a.startswith("role:") and a[5:] not in roles]
        if bad:
            errors.setdefault("stages", {})[str(index)] = {"approvers": [
                f"unknown role {b[5:]!r}; one of {sorted(roles)}" for b in bad]}
    bad_cc = [a for a in definition.get("cc") or [] if a.startswith("role:") and a[5:] not in roles]
    if bad_cc:
        errors["cc"] = [f"unknown role {b[5:]!r}; one of {sorted(roles)}" for b in bad_cc]
    if errors:
        raise ValidationError(errors)
    result = {k: copy.deepcopy(definition.get(k)) for k in DEFINITION_KEYS}
    result["condition_kinds"] = kinds
    for stage in result.get("stages") or []:
        stage["approvers"] = list(dict.fromkeys(stage["approvers"]))  # drop repeats, keep order
        if stage.get("due_in_hours") is not None:
            stage["on_timeout"] = stage.get("on_timeout") or "remind"
            stage["escalate_to"] = list(dict.fromkeys(stage.get("escalate_to") or []))
        else:
            for key in ("due_in_hours", "on_timeout", "escalate_to"):
                stage.pop(key, None)
    result["cc"] = list(dict.fromkeys(result.get("cc") or []))
    return result
