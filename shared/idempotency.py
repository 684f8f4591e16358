"""Idempotent creates: ``idempotency_key`` in a create's data (issue 9 #4).

The same key from the same user on the same call names one record: the first call
creates it, every later one with the same payload gets that record back (same id) and
creates nothing; the same key with another payload is a ``Conflict`` naming
``idempotency_key``. The key is stored with a hash of the normalised payload in the
same transaction as the record's first event, under a unique ``_id`` (``scope_id``), so
two instances racing with one key cannot both create, and a restart forgets nothing.
Keys are kept ``KEY_TTL`` (24 h, as the gateway's ``Idempotency-Key``).

An import's ``external_id`` (issue 15) rides the same path: an ``ImportKey`` is claimed
in the same transaction as the record's first event, but kept for good (no TTL, no
payload hash): a row imported once is skipped however long after it is sent again.

Pure: the MongoDB side is ``shared.idempotency_store``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.errors import Conflict

FIELD = "idempotency_key"
MAX_KEY_LENGTH = 100
KEY_TTL = dt.timedelta(hours=24)


class KeyTaken(Exception):
    """Raised by a repository's save when the key was stored first by another call
    (a racing instance); the caller answers with that call's record. Never reaches a
    caller of the RPC."""


@dataclass(frozen=True)
class IdempotencyKey:
    """One call's key: ``scope_id`` (user, call and key, hashed) and the payload's hash."""

    scope_id: str
    fingerprint: str


@dataclass(frozen=True)
class ImportKey:
    """An imported row's ``external_id`` and who imported it: one record per id, forever."""

    external_id: str
    imported_by: str | None = None


RecordKey = IdempotencyKey | ImportKey


@dataclass(frozen=True)
class KeyRecord:
    """What the store keeps of a key: the record it created and its payload's hash."""

    record_id: str
    fingerprint: str
    created_at: dt.datetime


def split_key(user_id: str, call: str,
              payload: Mapping[str, Any]) -> tuple[IdempotencyKey | None, dict[str, Any]]:
    """The call's key (None without one) and the payload without it."""
    values = dict(payload)
    key = values.pop(FIELD, None)
    if key is None:
        return None, values
    scope = hashlib.sha256(f"{user_id}\x00{call}\x00{key}".encode()).hexdigest()
    return IdempotencyKey(scope, fingerprint(values)), values


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A hash of the payload that ignores key order, absent-vs-null and how a decimal
    was written (``"10.5"`` = ``"10.50"``)."""
    canonical = json.dumps(_normalised(payload), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _normalised(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _normalised(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    if isinstance(value, Decimal):
        return {"$decimal": str(value.normalize()) if value else "0"}
    return value


def earlier_record(found: KeyRecord | None, key: IdempotencyKey,
                   now: dt.datetime | None = None) -> str | None:
    """The id of the record an earlier call with this key created (None: no live
    earlier call); Conflict naming ``idempotency_key`` when its payload was another."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if found is None or found.created_at <= now - KEY_TTL:
        return None
    if found.fingerprint != key.fingerprint:
        raise Conflict({FIELD: ["this idempotency_key was used with another payload "
                                "(its first call created another record)"]})
    return found.record_id
