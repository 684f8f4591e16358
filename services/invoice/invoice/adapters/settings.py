"""MongoDB adapter of SettingsRepository: invoice types and custom field definitions,
event-sourced in the shared store (streams ``invoice_type-<key>``,
``custom_field-<key>``) with their state in one small ``settings`` collection, so a use
case reads every type and definition it needs in one round trip (``catalog``)."""
from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database

from invoice.domain.settings import Setting, setting_stream
from shared.errors import ConcurrencyConflict, Conflict
from shared.events.envelope import Metadata, StreamHead
from shared.events.repository import AggregateRepository
from shared.events.store import EventStore
from shared.events.unit_of_work import Transaction
from shared.idempotency import RecordKey

KINDS = ("invoice_type", "custom_field")
STATE_KEYS = ("_id", "setting_kind", "key", "version", "head_hash", "created_at",
              "created_by", "updated_at", "updated_by")


class MongoSettingsRepository(AggregateRepository[Setting]):
    aggregate_type = Setting

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        super().__init__(store, db["settings"])

    def get(self, kind: str, key: str) -> Setting | None:
        doc = self.states.find_one({"_id": setting_stream(kind, key)})
        return None if doc is None else _from_document(doc)

    def all(self, kind: str) -> list[Setting]:
        docs = self.states.find({"setting_kind": kind}).sort("key", ASCENDING)
        return [_from_document(d) for d in docs]

    def catalog(self) -> dict[str, dict[str, Setting]]:
        found: dict[str, dict[str, Setting]] = {kind: {} for kind in KINDS}
        for doc in self.states.find():
            found[doc["setting_kind"]][doc["key"]] = _from_document(doc)
        return found

    def save(self, setting: Setting, meta: Metadata, key: RecordKey | None = None,
             tx: Transaction | None = None) -> list[dict[str, Any]]:
        try:
            return super().save(setting, meta, key, tx)
        except ConcurrencyConflict:
            if setting.version == 0:
                raise Conflict({"key": [f"{setting.key!r} exists already"]}) from None
            raise

    def state_document(self, setting: Setting) -> dict[str, Any]:
        return dict(setting.values, _id=setting.id, setting_kind=setting.kind, key=setting.key,
                    head_hash=setting.head.hash, **setting.audit_fields())


def _from_document(doc: dict[str, Any]) -> Setting:
    values = {k: v for k, v in doc.items() if k not in STATE_KEYS}
    values["key"] = doc["key"]
    version = int(doc["version"])
    return Setting(id=doc["_id"], kind=doc["setting_kind"], key=doc["key"], values=values,
                   version=version, head=StreamHead(version, doc["head_hash"]),
                   created_at=doc.get("created_at"), created_by=doc.get("created_by"),
                   updated_at=doc.get("updated_at"), updated_by=doc.get("updated_by"))
