"""MongoDB adapters of the webhooks and their delivery outbox, and the HTTP sender.

Deliveries are inserted in the same transaction as the request events that cause them
(``MongoRequestRepository.write_state``), so a crash loses none. A sender claims a due
delivery with a lease (``claimed_until``): an instance killed mid-delivery leaves it to be
claimed again when the lease runs out, and the receiver sees the same ``X-Event-Id``."""
from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database

from approval.domain.webhooks import PENDING, deliveries_for


class MongoWebhooks:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db["webhooks"]

    def add(self, webhook: Mapping[str, Any]) -> None:
        self.collection.insert_one({**{k: v for k, v in webhook.items() if k != "id"},
                                    "_id": webhook["id"]})

    def all(self) -> list[dict[str, Any]]:
        return [dict(d, id=d.pop("_id")) for d in self.collection.find({}).sort("created_at", ASCENDING)]

    def delete(self, webhook_id: str) -> bool:
        return bool(self.collection.delete_one({"_id": webhook_id}).deleted_count)

    def for_kinds(self, kinds: Iterable[str], session: ClientSession | None = None) -> list[dict[str, Any]]:
        docs = self.collection.find({"events": {"$in": list(kinds)}}, session=session)
        return [dict(d, id=d.pop("_id")) for d in docs]


class MongoDeliveries:
    def __init__(self, db: Database[Any], webhooks: MongoWebhooks) -> None:
        self.collection = db["webhook_deliveries"]
        self.webhooks = webhooks

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        db["webhook_deliveries"].create_index([("status", ASCENDING), ("next_at", ASCENDING)],
                                              name="due")

    def enqueue(self, events: list[dict[str, Any]], at: str, session: ClientSession) -> int:
        """One delivery per matching webhook and event, inside the caller's transaction."""
        if not events:
            return 0
        webhooks = self.webhooks.for_kinds({e["kind"] for e in events}, session)
        docs = [dict(d, _id=d.pop("id")) for d in deliveries_for(webhooks, events, at)]
        if docs:
            self.collection.insert_many(docs, session=session)
        return len(docs)

    def claim_due(self, now: str, lease_until: str) -> dict[str, Any] | None:
        """One due delivery, leased to the caller until ``lease_until`` (a read first:
        an idle outbox costs no write)."""
        due = {"status": PENDING, "next_at": {"$lte": now},
               "$or": [{"claimed_until": None}, {"claimed_until": {"$lte": now}}]}
        if self.collection.find_one(due, {"_id": 1}) is None:
            return None
        return self.collection.find_one_and_update(  # type: ignore[no-any-return]
            due, {"$set": {"claimed_until": lease_until}},
            sort=[("next_at", ASCENDING)], return_document=ReturnDocument.AFTER)

    def finish(self, delivery_id: str, changes: Mapping[str, Any]) -> None:
        self.collection.update_one({"_id": delivery_id},
                                   {"$set": dict(changes, claimed_until=None)})

    def find(self, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
        query = {} if status is None else {"status": status}
        docs = self.collection.find(query, {"body": 0}).sort("created_at", ASCENDING).limit(limit)
        return [dict(d, id=d.pop("_id")) for d in docs]


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST; the HTTP status (0 when nothing answered)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - admin-set http(s) url
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
