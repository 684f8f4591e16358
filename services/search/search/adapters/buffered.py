"""Views for a rebuild or a catch-up: the same reads and writes as MongoViews, kept in
memory for a page of events and written with bulk writes in the page's transaction
(``flush``)."""
from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from search.adapters.views import MongoViews
from search.domain.buckets import Sums, add_sums
from search.domain.views import to_decimal

_MISSING = object()


class BufferedViews(MongoViews):
    """Write-back cache over one generation; ``flush`` before anything queries by a
    secondary key (``invoices_where``, ``set_payment_scope``) and at the end of a page."""

    def __init__(self, db: Database[Any], generation: int, session: ClientSession | None,
                 buckets: bool = True, locks: bool = False) -> None:
        super().__init__(db, generation, session)
        self.keep_buckets = buckets
        self.locks_joins = locks  # a live catch-up shares the generation with the consumer
        self.lock_keys: set[str] = set()
        self.cache: dict[str, dict[str, Any]] = {}
        self.dirty: dict[str, set[str]] = {}
        self.bucket_deltas: dict[str, tuple[dict[str, Any], int, Sums]] = {}

    def _name(self, collection: Any) -> str:
        return str(collection.name)

    def _get(self, collection: Any, record_id: str | None) -> dict[str, Any] | None:
        if not record_id:
            return None
        cache = self.cache.setdefault(self._name(collection), {})
        if record_id not in cache:
            cache[record_id] = super()._get(collection, record_id) or _MISSING  # type: ignore[assignment]
        found = cache[record_id]
        return None if found is _MISSING else copy.deepcopy(found)

    def _put(self, collection: Any, doc: dict[str, Any]) -> None:
        name = self._name(collection)
        self.cache.setdefault(name, {})[doc["_id"]] = doc
        self.dirty.setdefault(name, set()).add(doc["_id"])

    def lock(self, *keys: str) -> None:
        """A rebuild is the only writer of its generation: nothing to conflict with; a
        catch-up (``locks=True``) writes the markers as MongoViews does, in bulk at
        ``flush`` (still in the page's transaction, so they conflict all the same)."""
        if self.locks_joins:
            self.lock_keys.update(keys)

    def save_invoice(self, doc: Mapping[str, Any]) -> None:
        self._put(self.invoices, copy.deepcopy(dict(doc)))

    def bump_buckets(self, changes: Mapping[str, tuple[dict[str, Any], int, Sums]]) -> None:
        if not self.keep_buckets:
            return  # a rebuild counts them once at the end (count_buckets)
        for bucket_id, (fields, count, sums) in changes.items():
            before = self.bucket_deltas.get(bucket_id)
            if before is not None:
                count, sums = before[1] + count, add_sums(before[2], sums)
            self.bucket_deltas[bucket_id] = (fields, count, sums)

    def cover_payment(self, payment_id: str, invoice_id: str, covered: bool) -> None:
        doc = self._get(self.payments, payment_id) or {"_id": payment_id, "invoice_ids": [],
                                                        "invoice_count": 0}
        ids = [i for i in doc.get("invoice_ids") or [] if i != invoice_id]
        if covered:
            ids.append(invoice_id)
        doc["invoice_ids"] = ids
        doc["invoice_count"] = int(doc.get("invoice_count") or 0) + (1 if covered else -1)
        self._put(self.payments, doc)

    def upsert(self, kind: str, record_id: str, values: Mapping[str, Any]) -> None:
        collection = {"customer": self.customers, "contract": self.contracts,
                      "payment": self.payments, "setting": self.settings}[kind]
        doc = self._get(collection, record_id) or {"_id": record_id}
        if kind == "payment":
            doc.setdefault("invoice_ids", [])
            doc.setdefault("invoice_count", 0)
        values = {k: v for k, v in values.items() if not k.startswith("$") and k != "_id"}
        if "amount" in values:
            values["amount"] = to_decimal(values["amount"])
        doc.update(values)
        self._put(collection, doc)

    def invoices_where(self, field: str, value: str) -> Iterator[dict[str, Any]]:
        self.flush()
        yield from super().invoices_where(field, value)

    def set_payment_scope(self, contract_id: str, owner_id: Any, department_id: Any) -> None:
        self.flush()
        self.cache.pop(self._name(self.payments), None)
        super().set_payment_scope(contract_id, owner_id, department_id)

    def flush(self) -> None:
        if self.lock_keys:
            self.locks.bulk_write([UpdateOne({"_id": key}, {"$inc": {"n": 1}}, upsert=True)
                                   for key in sorted(self.lock_keys)], ordered=False, session=self.session)
            self.lock_keys = set()
        for name, ids in self.dirty.items():
            cache = self.cache[name]
            ops = [ReplaceOne({"_id": i}, cache[i], upsert=True) for i in sorted(ids)]
            if ops:
                self.db[name].bulk_write(ops, ordered=False, session=self.session)
        self.dirty = {}
        ops_b = [UpdateOne({"_id": bucket_id}, {"$setOnInsert": fields,
                                                "$inc": {"count": count, **sums}}, upsert=True)
                 for bucket_id, (fields, count, sums) in self.bucket_deltas.items()
                 if count or any(sums.values())]
        if ops_b:
            self.buckets.bulk_write(ops_b, ordered=False, session=self.session)
            emptied = [b for b, (_, count, _) in self.bucket_deltas.items() if count < 0]
            if emptied:
                self.buckets.delete_many({"_id": {"$in": emptied}, "count": 0}, session=self.session)
        self.bucket_deltas = {}


def count_buckets(db: Database[Any], generation: int, batch: int = 5000) -> int:
    """(Re)write a generation's buckets from its invoice views in one pass."""
    from search.adapters.views import Generations, collection_name
    from search.domain.buckets import SUMS, bucket_keys, sums_of

    totals: dict[str, tuple[dict[str, Any], int, Sums]] = {}
    fields = {"issued_on": 1, "type": 1, "kind": 1, "status": 1, "approval_status": 1,
              "owner_id": 1, "department_id": 1, "customer_id": 1, "contract_id": 1,
              **{name: 1 for name in SUMS}}
    for doc in db[collection_name(generation, "invoices")].find({}, fields):
        for bucket_id, key in bucket_keys(doc):
            _, count, sums = totals.get(bucket_id, (key, 0, sums_of(None)))
            totals[bucket_id] = (key, count + 1, add_sums(sums, sums_of(doc)))
    buckets = db[collection_name(generation, "buckets")]
    buckets.delete_many({})
    docs = [dict(key, _id=bucket_id, count=count, **sums)
            for bucket_id, (key, count, sums) in totals.items()]
    for start in range(0, len(docs), batch):
        buckets.insert_many(docs[start:start + batch], ordered=False)
    Generations(db).mark_customer_counts(generation)  # every family counted, ``k`` too
    return len(docs)
