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

COLLECTIONS = {"invoice_type": "invoice_types", "custom_field": "custom_fields"}


def stream_id(kind: str, key: str) -> str:
    return f"{kind}-{key}"


class MongoSettingsRepository:
    def __init__(self, db: Database[Any], store: EventStore) -> None:
        self.db = db
        self.store = store

    def get(self, kind: str, key: str) -> Setting | None:
        doc = self.db[COLLECTIONS[kind]].find_one({"_id": key})
        if doc is None:
            return None
        return _from_document(doc)

    def all(self, kind: str) -> list[Setting]:
        return [_from_document(d) for d in self.db[COLLECTIONS[kind]].find().sort("_id", ASCENDING)]

    def load(self, kind: str, key: str) -> Setting | None:
        events = self.store.stream(stream_id(kind, key))
        return Setting.replay(key, events) if events else None

    def save(self, kind: str, setting: Setting, meta: Metadata) -> None:
        collection = self.db[COLLECTIONS[kind]]

        def write_state(session: ClientSession, envelopes: list[dict[str, Any]]) -> None:
            after = copy.deepcopy(setting)
            for envelope in envelopes:
                after.apply(envelope)
            collection.replace_one({"_id": setting.key}, _to_document(after),
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


def _to_document(setting: Setting) -> dict[str, Any]:
    return dict(setting.values, _id=setting.key, version=setting.version,
                head_hash=setting.head.hash)


def _from_document(doc: dict[str, Any]) -> Setting:
    values = {k: v for k, v in doc.items() if k not in ("_id", "version", "head_hash")}
    return Setting(key=doc["_id"], values=values, version=int(doc["version"]),
                   head=StreamHead(int(doc["version"]), doc["head_hash"]))
