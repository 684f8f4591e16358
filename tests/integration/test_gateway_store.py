"""The gateway's own collections on the real store: idempotency claims, sessions and the
sign-in throttle, as several gateway instances would share them."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pymongo.database import Database

from gateway.database import ensure_indexes
from gateway.idempotency import Claim, IdempotencyStore, Replay
from gateway.problems import HttpProblem
from gateway.sessions import LoginThrottle, SessionStore, utcnow


@pytest.fixture
def gateway_db(db: Database[Any]) -> Database[Any]:
    ensure_indexes(db)
    return db


def test_a_key_is_claimed_once_then_replayed_and_refused_for_another_body(gateway_db: Database[Any]) -> None:
    first, second = IdempotencyStore(gateway_db), IdempotencyStore(gateway_db)   # two instances

    claim = first.claim("u1", "k1", "hash-a")
    with pytest.raises(HttpProblem) as running:
        second.claim("u1", "k1", "hash-a")
    assert isinstance(claim, Claim) and running.value.status == 409
    first.complete(claim, 201, {"id": "inv_1"}, "/api/invoices/inv_1")

    replay = second.claim("u1", "k1", "hash-a")
    with pytest.raises(HttpProblem) as reused:
        second.claim("u1", "k1", "hash-b")
    other_user = second.claim("u2", "k1", "hash-b")

    assert replay == Replay(201, {"id": "inv_1"}, "/api/invoices/inv_1")
    assert reused.value.status == 409 and isinstance(other_user, Claim)


def test_a_released_or_abandoned_claim_can_be_taken_again(gateway_db: Database[Any]) -> None:
    keys = IdempotencyStore(gateway_db)
    released = keys.claim("u1", "k2", "h")
    assert isinstance(released, Claim)
    keys.release(released)
    abandoned = keys.claim("u1", "k2", "h")
    assert isinstance(abandoned, Claim)
    gateway_db.idempotency.update_one({"_id": abandoned.doc_id},
                                      {"$set": {"claimed_at": utcnow() - timedelta(minutes=5)}})

    taken_over = keys.claim("u1", "k2", "h")

    assert isinstance(taken_over, Claim) and taken_over.claimed_at > abandoned.claimed_at
    keys.complete(abandoned, 201, {"id": "late"}, None)            # the dead one's late write
    assert gateway_db.idempotency.find_one({"_id": taken_over.doc_id})["state"] == "pending"


def test_the_throttle_locks_a_pair_after_three_failures_and_forgets_on_success(gateway_db: Database[Any]) -> None:
    throttle = LoginThrottle(gateway_db)

    locks = [throttle.failed("alice", "10.0.0.1") for _ in range(5)]

    assert locks == [0, 0, 0, 1, 2]
    assert throttle.wait_seconds("alice", "10.0.0.1") >= 1
    assert throttle.wait_seconds("alice", "10.0.0.2") == 0      # another address
    throttle.succeeded("alice", "10.0.0.1")
    assert throttle.wait_seconds("alice", "10.0.0.1") == 0


def test_a_session_cookie_is_signed_and_ends_on_logout(gateway_db: Database[Any]) -> None:
    sessions = SessionStore(gateway_db, "secret-1", ttl_seconds=60)
    other_secret = SessionStore(gateway_db, "secret-2", ttl_seconds=60)
    session, cookie = sessions.open("alice")

    assert sessions.find(cookie) == session
    assert other_secret.find(cookie) is None and sessions.find(cookie + "x") is None
    sessions.close(session.id)
    assert sessions.find(cookie) is None
