"""Sessions of people signed in with a password, and the slowing down of failed tries.

The cookie holds only a signed random session id (itsdangerous); the session itself
(username, CSRF token, expiry) is a document in the gateway database, so logging out
ends it on every gateway instance, and so does its expiry (TTL index).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pymongo import ReturnDocument
from pymongo.database import Database

COOKIE_NAME = "crm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
FREE_FAILURES = 3          # tries before any waiting
MAX_LOCK_SECONDS = 300


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Session:
    id: str
    username: str
    csrf_token: str
    expires_at: datetime

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token, str(token))


class SessionStore:
    """Sessions in the ``sessions`` collection; the cookie value is the signed id."""

    def __init__(self, db: Database[Any], secret: str, ttl_seconds: int) -> None:
        self.collection = db.sessions
        self.ttl = timedelta(seconds=ttl_seconds)
        self.signer = URLSafeTimedSerializer(secret, salt="crm-session")

    def open(self, username: str) -> tuple[Session, str]:
        """A new session and its cookie value."""
        expires = utcnow() + self.ttl
        expires = expires.replace(microsecond=expires.microsecond // 1000 * 1000)  # as stored
        session = Session(id=secrets.token_urlsafe(24), username=username,
                          csrf_token=secrets.token_urlsafe(24), expires_at=expires)
        self.collection.insert_one({"_id": session.id, "username": username,
                                    "csrf_token": session.csrf_token,
                                    "created_at": utcnow(), "expires_at": session.expires_at})
        return session, self.signer.dumps(session.id)

    def find(self, cookie: str) -> Session | None:
        """The live session a cookie names; None for a forged, old or ended one."""
        try:
            session_id = self.signer.loads(cookie, max_age=int(self.ttl.total_seconds()))
        except BadSignature:
            return None
        doc = self.collection.find_one({"_id": session_id})
        if doc is None or doc["expires_at"] <= utcnow():
            return None
        return Session(id=doc["_id"], username=doc["username"], csrf_token=doc["csrf_token"],
                       expires_at=doc["expires_at"])

    def close(self, session_id: str) -> None:
        self.collection.delete_one({"_id": session_id})


class LoginThrottle:
    """Failed sign-ins per (username, client address), shared by every gateway instance
    through the database: after ``FREE_FAILURES`` failures each further one locks that
    pair for twice as long as the one before (1 s, 2 s, 4 s … ``MAX_LOCK_SECONDS``)."""

    def __init__(self, db: Database[Any]) -> None:
        self.collection = db.login_failures

    @staticmethod
    def _key(username: str, address: str) -> str:
        return hashlib.sha256(f"{username}\x00{address}".encode()).hexdigest()

    def wait_seconds(self, username: str, address: str) -> int:
        """How long this pair must still wait before a try is even checked (0: go on)."""
        doc = self.collection.find_one({"_id": self._key(username, address)})
        if not doc or not doc.get("locked_until"):
            return 0
        remaining = (doc["locked_until"] - utcnow()).total_seconds()
        return max(0, int(remaining + 0.999))

    def failed(self, username: str, address: str) -> int:
        """Record a failure; the seconds the pair is now locked for."""
        now = utcnow()
        doc = self.collection.find_one_and_update(
            {"_id": self._key(username, address)},
            {"$inc": {"count": 1}, "$set": {"updated_at": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
        over = int(doc["count"]) - FREE_FAILURES
        if over <= 0:
            return 0
        seconds = min(2 ** (over - 1), MAX_LOCK_SECONDS)
        self.collection.update_one({"_id": doc["_id"]},
                                   {"$set": {"locked_until": now + timedelta(seconds=seconds)}})
        return seconds

    def succeeded(self, username: str, address: str) -> None:
        self.collection.delete_one({"_id": self._key(username, address)})
