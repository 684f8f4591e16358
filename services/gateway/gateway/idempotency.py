"""``Idempotency-Key`` for creating POSTs, kept in the gateway database for 24 h.

One document per (user, key): the hash of the request (method, path, body), its state
(``pending`` while the first request runs, then ``done`` with the response to replay).
Because the claim is an insert on a unique ``_id``, two instances racing with the same
key cannot both create.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from gateway.database import IDEMPOTENCY_TTL_SECONDS, GatewayDatabase
from gateway.problems import HttpProblem

MAX_KEY_LENGTH = 100
# A first request that has not finished after this long is taken to have died (its
# gateway was killed): a retry may then run it again.
ABANDONED_AFTER = timedelta(seconds=60)


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise HttpProblem(400, "Bad Request",
                          f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                          errors={"Idempotency-Key": ["1 to 100 printable characters"]})
    return key


@dataclass(frozen=True)
class Claim:
    """The right to run the first request with a key."""

    doc_id: str
    claimed_at: datetime


@dataclass(frozen=True)
class Replay:
    """The stored result of the first request with a key."""

    status: int
    body: Any
    location: str | None


class IdempotencyStore:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db.idempotency

    @staticmethod
    def _id(user: str, key: str) -> str:
        return hashlib.sha256(f"{user}\x00{key}".encode()).hexdigest()

    def claim(self, user: str, key: str, fingerprint: str) -> Claim | Replay:
        """Claim the key, or get the first result; 409 for another body or a first
        request still running."""
        doc_id = self._id(user, key)
        now = datetime.now(UTC)
        try:
            self.collection.insert_one({"_id": doc_id, "user": user, "key": key,
                                        "fingerprint": fingerprint, "state": "pending",
                                        "created_at": now, "claimed_at": now})
            return Claim(doc_id, now)
        except DuplicateKeyError:
            pass
        doc = self.collection.find_one({"_id": doc_id})
        if doc is None:                       # expired in between: try once more
            return self.claim(user, key, fingerprint)
        if doc["created_at"] <= now - timedelta(seconds=IDEMPOTENCY_TTL_SECONDS):
            self.collection.delete_one({"_id": doc_id, "created_at": doc["created_at"]})
            return self.claim(user, key, fingerprint)
        if doc["fingerprint"] != fingerprint:
            raise HttpProblem(409, "Conflict", "this Idempotency-Key was used with another "
                              "request body", slug="idempotency-key-reused")
        if doc["state"] == "done":
            return Replay(int(doc["status"]), doc["body"], doc.get("location"))
        if doc["claimed_at"] > now - ABANDONED_AFTER:
            raise HttpProblem(409, "Conflict", "a request with this Idempotency-Key is "
                              "still running", slug="idempotency-key-in-use",
                              headers={"Retry-After": "1"})
        taken = self.collection.update_one(
            {"_id": doc_id, "state": "pending", "claimed_at": doc["claimed_at"]},
            {"$set": {"claimed_at": now}})
        if taken.modified_count != 1:
            return self.claim(user, key, fingerprint)
        return Claim(doc_id, now)

    def complete(self, claim: Claim, status: int, body: Any, location: str | None) -> None:
        self.collection.update_one(
            {"_id": claim.doc_id, "claimed_at": claim.claimed_at},
            {"$set": {"state": "done", "status": status, "body": body, "location": location}})

    def release(self, claim: Claim) -> None:
        """The first request failed with a contract error: nothing was created, the key
        is free again."""
        self.collection.delete_one({"_id": claim.doc_id, "claimed_at": claim.claimed_at,
                                    "state": "pending"})


class Idempotency(DependencyProvider):
    database = GatewayDatabase()

    def get_dependency(self, worker_ctx: Any) -> IdempotencyStore:
        return IdempotencyStore(self.database.db)
