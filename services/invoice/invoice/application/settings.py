"""Settings use cases: invoice types (票据类型) and custom field definitions (admin)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from invoice.domain import events as ev
from invoice.domain.settings import SEEDED_TYPES, new_custom_field, new_invoice_type
from invoice.ports import SettingsRepository
from shared.auth import Actor, Policy
from shared.errors import ConcurrencyConflict, Conflict, NotFound, ValidationError
from shared.events.envelope import Metadata, metadata_for


@dataclass
class SettingsApplication:
    settings: SettingsRepository
    policy: Policy
    actor: Actor
    correlation_id: str | None = None

    def list_invoice_types(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "settings.read")
        types = [s.to_dict() for s in self.settings.all("invoice_type")]
        return types if include_inactive else [t for t in types if t.get("active")]

    def create_invoice_type(self, key: str, label: str, color: str,
                            required_fields: Sequence[str] = ()) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        if self.settings.get("invoice_type", key) is not None:
            raise Conflict({"key": [f"invoice type {key!r} exists already"]})
        setting = new_invoice_type(key, label, color, required_fields)
        self.settings.save(setting, self._meta())
        return setting.to_dict()

    def update_invoice_type(self, key: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        return self._change_setting("invoice_type", key, ev.INVOICE_TYPE_UPDATED, changes)

    def list_custom_fields(self) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "settings.read")
        return [s.to_dict() for s in self.settings.all("custom_field")]

    def define_custom_field(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        if self.settings.get("custom_field", definition["key"]) is not None:
            raise Conflict({"key": [f"custom field {definition['key']!r} exists already"]})
        setting = new_custom_field(definition)
        self.settings.save(setting, self._meta())
        return setting.to_dict()

    def update_custom_field(self, key: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        current = self.settings.get("custom_field", key)
        if current is not None and current.values.get("kind") == "select":
            options = changes.get("options", current.values.get("options"))
            if not options:
                raise ValidationError.field("options", "a select field needs options")
        return self._change_setting("custom_field", key, ev.CUSTOM_FIELD_UPDATED, changes)

    def seed_invoice_types(self) -> int:
        """Create the three standard types where missing (idempotent, race-safe); a type
        seeded before types had ``required_fields`` gets the standard ones once."""
        created = 0
        for seed in SEEDED_TYPES:
            existing = self.settings.get("invoice_type", seed["key"])
            try:
                if existing is None:
                    self.settings.save(new_invoice_type(**seed), self._meta())
                    created += 1
                elif "required_fields" not in existing.values and \
                        existing.change(ev.INVOICE_TYPE_UPDATED,
                                        {"required_fields": seed["required_fields"]}):
                    self.settings.save(existing, self._meta())
            except (Conflict, ConcurrencyConflict):
                pass  # another instance seeded it first
        return created

    # -- helpers ---------------------------------------------------------------------
    def _change_setting(self, kind: str, key: str, event_type: str,
                        changes: Mapping[str, Any]) -> dict[str, Any]:
        setting = self.settings.get(kind, key)
        if setting is None:
            raise NotFound(f"{kind.replace('_', ' ')} {key!r} not found")
        if setting.change(event_type, changes):
            self.settings.save(setting, self._meta())
        return setting.to_dict()

    def _meta(self) -> Metadata:
        return metadata_for(self.actor, self.correlation_id)
