"""MongoDB adapter of SettingsRepository: invoice types and custom field definitions,
event-sourced in the shared store (streams ``invoice_type-<key>``,
``custom_field-<key>``) with a state collection each, written in the same transaction."""
from __future__ import annotations

import copy
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from invoice.domain.settings import Setting
from shared.errors import ConcurrencyConflict, Conflict
from shared.events.envelope import Metadata, StreamHead
from shared.events.store import EventStore

KINDS = ("invoice_type", "custom_field")


def stream_id(kind: str, key: str) -> str:
    return f"{kind}-{key}"


class MongoSettingsRepository:
    """All settings live in one small ``settings`` collection, so a use case reads every
    type and custom field definition it needs in one round trip (``catalog``)."""

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        self.collection = db["settings"]
        self.store = store

    def get(self, kind: str, key: str) -> Setting | None:
        doc = self.collection.find_one({"_id": f"{kind}:{key}"})
        return None if doc is None else _from_document(doc)

    def all(self, kind: str) -> list[Setting]:
        return [_from_document(d) for d in self.collection.find({"setting_kind": kind}).sort("key", ASCENDING)]

    def catalog(self) -> dict[str, dict[str, Setting]]:
        found: dict[str, dict[str, Setting]] = {kind: {} for kind in KINDS}
        for doc in self.collection.find():
            found[doc["setting_kind"]][doc["key"]] = _from_document(doc)
        return found

    def save(self, kind: str, setting: Setting, meta: Metadata) -> None:
        def write_state(session: ClientSession, envelopes: list[dict[str, Any]]) -> None:
            after = copy.deepcopy(setting)
            for envelope in envelopes:
                after.apply(envelope)
            self.collection.replace_one({"_id": f"{kind}:{setting.key}"}, _to_document(kind, after),
                                        upsert=True, session=session)

        try:
            envelopes = self.store.append(stream_id(kind, setting.key), kind, setting.head,
                                          setting.pending, meta, also=write_state)
        except ConcurrencyConflict:
            if setting.version == 0:
                raise Conflict({"key": [f"{setting.key!r} exists already"]}) from None
            raise
        for envelope in envelopes:
            setting.apply(envelope)
        setting.pending.clear()


STATE_KEYS = ("_id", "setting_kind", "key", "version", "head_hash")


def _to_document(kind: str, setting: Setting) -> dict[str, Any]:
    return dict(setting.values, _id=f"{kind}:{setting.key}", setting_kind=kind, key=setting.key,
                version=setting.version, head_hash=setting.head.hash)


def _from_document(doc: dict[str, Any]) -> Setting:
    values = {k: v for k, v in doc.items() if k not in STATE_KEYS}
    values["key"] = doc["key"]
    return Setting(key=doc["key"], values=values, version=int(doc["version"]),
                   head=StreamHead(int(doc["version"]), doc["head_hash"]))
