"""MongoDB adapter of FlowRules: the approval flows' trigger rules, one document per
flow, replaced only by a later version (replication calls may cross)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError


class MongoFlowRules:
    def __init__(self, db: Database[Any]) -> None:
        self.collection = db["approval_flows"]

    def active(self) -> list[dict[str, Any]]:
        return [dict(d, id=d.pop("_id")) for d in self.collection.find({"active": True})]

    def put(self, flow: Mapping[str, Any]) -> bool:
        doc = {k: v for k, v in flow.items() if k != "id"}
        try:
            result = self.collection.replace_one(
                {"_id": flow["id"], "version": {"$lt": int(flow["version"])}}, doc, upsert=True)
        except DuplicateKeyError:
            return False  # the same or a later version is here already
        return bool(result.matched_count or result.upserted_id)

