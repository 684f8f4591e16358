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
from collections.abc import Iterable, Mapping
from typing import Any

from approval.domain.notifications import Notification
from approval.domain.request import ApprovalRequest

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


def webhook_events(request: ApprovalRequest, notes: list[Notification]) -> list[dict[str, Any]]:
    """One webhook event per notification kind of an append (its recipients listed)."""
    by_kind: dict[str, list[Notification]] = {}
    for note in notes:
        by_kind.setdefault(note.kind, []).append(note)
    return [{"event_id": f"{request.id}:{request.version}:{kind}", "kind": kind,
             "request_id": request.id, "invoice_id": request.invoice_id, "stage": group[0].stage,
             "message": group[0].message, "recipients": [n.recipient for n in group],
             "created_at": request.updated_at} for kind, group in by_kind.items()]


def deliveries_for(webhooks: Iterable[Mapping[str, Any]], events: list[dict[str, Any]],
                   at: str) -> list[dict[str, Any]]:
    """One pending delivery per webhook and event of a kind it lists, due ``at``; its id
    (the ``X-Event-Id``) is the event's and the webhook's."""
    found = []
    for webhook in webhooks:
        for event in events:
            if event["kind"] in webhook["events"]:
                event_id = f"{event['event_id']}:{webhook['id']}"
                body = body_for(webhook["format"], dict(event, event_id=event_id))
                found.append({"id": event_id, "webhook_id": webhook["id"], "url": webhook["url"],
                              "body": body.decode(), "status": PENDING, "attempts": 0,
                              "next_at": at, "created_at": at, "first_attempt_at": None,
                              "claimed_until": None, "last_error": None})
    return found


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
