"""The ``idempotency_keys`` and ``import_keys`` collections of a service database (see
``shared.idempotency``).

One document per key: ``_id`` = the key's ``scope_id``, the record id, the payload's
fingerprint and ``created_at`` (a TTL index drops it after ``KEY_TTL``). It is inserted
inside the transaction that appends the record's first event: a second call with the
key fails that insert on ``_id`` and its whole append is undone. ``import_keys`` works
the same way without expiry: ``_id`` = the external_id, the record id (``invoice_id``,
the field's name since issue 15), ``imported_at`` and ``imported_by``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.idempotency import KEY_TTL, IdempotencyKey, ImportKey, KeyRecord, KeyTaken

COLLECTION = "idempotency_keys"
IMPORT_COLLECTION = "import_keys"


class MongoIdempotencyKeys:
    def __init__(self, db: Database[Any]) -> None:
        self.keys = db[COLLECTION]

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        db[COLLECTION].create_index([("created_at", ASCENDING)], name="idempotency_key_ttl",
                                    expireAfterSeconds=int(KEY_TTL.total_seconds()))

    def find(self, key: IdempotencyKey) -> KeyRecord | None:
        doc = self.keys.find_one({"_id": key.scope_id})
        if doc is None:
            return None
        return KeyRecord(doc["record_id"], doc["fingerprint"], _aware(doc["created_at"]))

    def claim_in(self, session: ClientSession | None, key: IdempotencyKey, record_id: str) -> None:
        """Store the key inside the caller's transaction; KeyTaken if a live call has it.
        An expired document the TTL monitor has not removed yet is replaced."""
        now = dt.datetime.now(dt.timezone.utc)
        self.keys.delete_one({"_id": key.scope_id, "created_at": {"$lte": now - KEY_TTL}},
                             session=session)
        try:
            self.keys.insert_one({"_id": key.scope_id, "record_id": record_id,
                                  "fingerprint": key.fingerprint, "created_at": now},
                                 session=session)
        except DuplicateKeyError:
            raise KeyTaken(key.scope_id) from None


class MongoImportKeys:
    def __init__(self, db: Database[Any]) -> None:
        self.keys = db[IMPORT_COLLECTION]

    def claim_in(self, session: ClientSession | None, key: ImportKey, record_id: str) -> None:
        """Store the external_id inside the caller's transaction; KeyTaken if it is stored."""
        try:
            self.keys.insert_one({"_id": key.external_id, "invoice_id": record_id,
                                  "imported_at": dt.datetime.now(dt.timezone.utc),
                                  "imported_by": key.imported_by}, session=session)
        except DuplicateKeyError:
            raise KeyTaken(key.external_id) from None

    def records(self, external_ids: Iterable[str]) -> dict[str, str]:
        """external_id -> the record it created, for those of ``external_ids`` stored."""
        wanted = list(dict.fromkeys(external_ids))
        if not wanted:
            return {}
        return {doc["_id"]: doc["invoice_id"]
                for doc in self.keys.find({"_id": {"$in": wanted}}, {"invoice_id": 1})}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
