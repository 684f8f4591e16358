"""Webhooks: what a delivery says and how it is signed and retried. Pure: no I/O.

A webhook (admin-defined) receives the notifications of the kinds it lists, one delivery
per request append and kind (its recipients listed), in one of three body formats:
``json`` (the notification itself), ``wecom`` (企业微信 group robot text message) or
``dingtalk`` (钉钉 group robot text message). The body is signed with the webhook's
secret (``X-Signature: sha256=<hex HMAC of the body>``) and carries ``X-Event-Id``: the
delivery id, the same on every retry, for the receiver to drop duplicates."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

FORMATS = ("json", "wecom", "dingtalk")
KINDS = ("approval_needed", "request_opened", "request_approved", "request_rejected",
         "request_returned", "reminder")
RETRY_FOR = dt.timedelta(hours=24)
MAX_BACKOFF_SECONDS = 3600.0
DELIVERED, PENDING, PARKED = "delivered", "pending", "parked"


def body_for(format_: str, event: Mapping[str, Any]) -> bytes:
    """The request body for one delivery (``event``: event_id, kind, request_id,
    invoice_id, stage, message, recipients, created_at)."""
    if format_ in ("wecom", "dingtalk"):
        payload: dict[str, Any] = {"msgtype": "text", "text": {"content": str(event["message"])}}
    else:
        payload = dict(event)
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(secret: str, event_id: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "X-Event-Id": event_id,
            "X-Signature": signature(secret, body)}


def after_failure(attempts: int, first_attempt_at: dt.datetime, now: dt.datetime,
                  base_seconds: float) -> tuple[str, dt.datetime | None]:
    """After ``attempts`` failed tries: retry with exponential back-off for 24 hours
    from the first, then park (an operator looks at it)."""
    if now - first_attempt_at >= RETRY_FOR:
        return PARKED, None
    delay = min(base_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return PENDING, now + dt.timedelta(seconds=delay)
