"""The search service's MongoDB collections: invoice views, buckets and the small
customer/contract/payment/settings views, all in one *generation*.

A generation is a set of collections ``g<N>_<name>``; the ``projection_meta`` document
``active`` names the one being served. A rebuild fills generation N+1 while N keeps
answering, then switches ``active`` in one write (see search.rebuild).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from search.domain.buckets import COARSE, FAMILIES, Sums
from search.domain.views import to_decimal

# Invoice views per batch of a query's cursor (what the service holds at once).
FIND_BATCH = 200
COLLECTIONS = ("invoices", "buckets", "customers", "contracts", "payments", "settings")

# Equality-first compound indexes: the local store only uses an index when every field
# of the filter is in it, so each hot query is sent as exactly one of these shapes.
INVOICE_INDEXES: tuple[tuple[tuple[str, int], ...], ...] = (
    (("type", ASCENDING), ("issued_on", DESCENDING)),
    (("issued_on", DESCENDING),),
    (("customer_id", ASCENDING), ("issued_on", DESCENDING)),
    (("contract_id", ASCENDING), ("issued_on", DESCENDING)),
    (("owner_id", ASCENDING), ("issued_on", DESCENDING)),
    (("department_id", ASCENDING), ("issued_on", DESCENDING)),
    (("tracking_number", ASCENDING),),
    (("invoice_no", ASCENDING),),
    (("number", ASCENDING),),
    (("payment_ids", ASCENDING),),
    (("terms", ASCENDING),),
)
BUCKET_INDEXES: tuple[tuple[tuple[str, int], ...], ...] = (
    (("family", ASCENDING), ("day", ASCENDING)),
    (("family", ASCENDING), ("customer_id", ASCENDING), ("day", ASCENDING)),
    (("family", ASCENDING), ("contract_id", ASCENDING), ("day", ASCENDING)),
    (("family", ASCENDING), ("owner_id", ASCENDING), ("day", ASCENDING)),
    (("family", ASCENDING), ("department_id", ASCENDING), ("day", ASCENDING)),
)


def collection_name(generation: int, name: str) -> str:
    return f"g{generation}_{name}"


class Generations:
    """Which generation is served, and the rebuild's bookkeeping."""

    def __init__(self, db: Database[Any]) -> None:
        self.meta = db["projection_meta"]

    def active(self) -> int:
        doc = self.meta.find_one({"_id": "active"})
        return int(doc["generation"]) if doc else 0

    def switch(self, generation: int) -> None:
        self.meta.update_one({"_id": "active"}, {"$set": {"generation": generation}}, upsert=True)

    def counts_customers(self, generation: int) -> bool:
        """Whether the generation's per-customer buckets (family ``k``) count every
        invoice view: set when its buckets were counted from the views in one pass, or
        when it started empty; a generation projected before the family existed lacks
        them until a rebuild."""
        return self.meta.find_one({"_id": "customer_counts", "generations": generation}) is not None

    def mark_customer_counts(self, generation: int, complete: bool = True) -> None:
        change = "$addToSet" if complete else "$pull"
        self.meta.update_one({"_id": "customer_counts"}, {change: {"generations": generation}},
                             upsert=True)

    def rebuild(self) -> dict[str, Any] | None:
        return self.meta.find_one({"_id": "rebuild"})

    def set_rebuild(self, values: Mapping[str, Any] | None) -> None:
        if values is None:
            self.meta.delete_one({"_id": "rebuild"})
        else:
            self.meta.update_one({"_id": "rebuild"}, {"$set": dict(values)}, upsert=True)


def ensure_indexes(db: Database[Any], generation: int) -> None:
    invoices = db[collection_name(generation, "invoices")]
    for keys in INVOICE_INDEXES:
        invoices.create_index(list(keys))
    buckets = db[collection_name(generation, "buckets")]
    for keys in BUCKET_INDEXES:
        buckets.create_index(list(keys))
    payments = db[collection_name(generation, "payments")]
    payments.create_index([("invoice_count", ASCENDING)])
    payments.create_index([("contract_id", ASCENDING)])
    payments.create_index([("customer_id", ASCENDING)])
    db[collection_name(generation, "contracts")].create_index([("customer_id", ASCENDING)])


def drop_generation(db: Database[Any], generation: int) -> None:
    for name in COLLECTIONS + ("locks",):
        db.drop_collection(collection_name(generation, name))
    Generations(db).mark_customer_counts(generation, complete=False)


def mark_if_empty(db: Database[Any], generation: int) -> None:
    """A generation with no invoice views and no buckets yet gets every bucket family
    from the projector as its events arrive: its per-customer counts are complete."""
    if db[collection_name(generation, "invoices")].find_one({}, {"_id": 1}) is None \
            and db[collection_name(generation, "buckets")].find_one({}, {"_id": 1}) is None:
        Generations(db).mark_customer_counts(generation)


class MongoViews:
    """Reads and writes of one generation, inside one session (transaction) when given.

    Implements search.domain.views.Directory for the fold's joins."""

    def __init__(self, db: Database[Any], generation: int,
                 session: ClientSession | None = None) -> None:
        self.db, self.generation, self.session = db, generation, session
        self.invoices = db[collection_name(generation, "invoices")]
        self.buckets = db[collection_name(generation, "buckets")]
        self.customers = db[collection_name(generation, "customers")]
        self.contracts = db[collection_name(generation, "contracts")]
        self.payments = db[collection_name(generation, "payments")]
        self.settings = db[collection_name(generation, "settings")]
        self.locks = db[collection_name(generation, "locks")]

    def lock(self, *keys: str) -> None:
        """Write a marker per joined record in this transaction: an invoice joining a
        customer and that customer's rename then conflict (one retries) instead of both
        committing on stale reads (write skew under snapshot isolation)."""
        for key in sorted(set(keys)):
            self.locks.update_one({"_id": key}, {"$inc": {"n": 1}}, upsert=True, session=self.session)

    # -- Directory -------------------------------------------------------------------
    def customer_name(self, customer_id: str | None) -> str | None:
        doc = self._get(self.customers, customer_id)
        return doc.get("name") if doc else None

    def contract_number(self, contract_id: str | None) -> str | None:
        doc = self._get(self.contracts, contract_id)
        return doc.get("number") if doc else None

    def payment(self, payment_id: str) -> Mapping[str, Any] | None:
        doc = self._get(self.payments, payment_id)
        return doc if doc and doc.get("known") else None

    def invoice_type(self, key: str | None) -> Mapping[str, Any] | None:
        return self._get(self.settings, f"invoice_type-{key}") if key else None

    def custom_kind(self, key: str) -> str | None:
        doc = self._get(self.settings, f"custom_field-{key}")
        return doc.get("kind") if doc else None

    def _get(self, collection: Any, record_id: str | None) -> dict[str, Any] | None:
        if not record_id:
            return None
        return collection.find_one({"_id": record_id}, session=self.session)  # type: ignore[no-any-return]

    # -- invoice views ---------------------------------------------------------------
    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        return self._get(self.invoices, invoice_id)

    def save_invoice(self, doc: Mapping[str, Any]) -> None:
        self.invoices.replace_one({"_id": doc["_id"]}, dict(doc), upsert=True, session=self.session)

    def invoices_where(self, field: str, value: str) -> Iterator[dict[str, Any]]:
        yield from self.invoices.find({field: value}, session=self.session)

    def bump_buckets(self, changes: Mapping[str, tuple[dict[str, Any], int, Sums]]) -> None:
        # update_one, not find_one_and_update: SecantusDB's find-and-modify upsert of a new
        # _id took time growing with the collection (~130 ms at 30,000 invoices' buckets,
        # seconds at 100,000: bench.growth); only a decrement can empty a bucket
        for bucket_id, (fields, count, sums) in changes.items():
            self.buckets.update_one({"_id": bucket_id}, {"$setOnInsert": fields,
                                                         "$inc": {"count": count, **sums}},
                                    upsert=True, session=self.session)
            if count < 0:
                after = self.buckets.find_one({"_id": bucket_id}, {"count": 1}, session=self.session)
                if after and int(after["count"]) == 0:
                    self.buckets.delete_one({"_id": bucket_id}, session=self.session)

    def cover_payment(self, payment_id: str, invoice_id: str, covered: bool) -> None:
        update = {"$addToSet": {"invoice_ids": invoice_id}, "$inc": {"invoice_count": 1}} \
            if covered else {"$pull": {"invoice_ids": invoice_id}, "$inc": {"invoice_count": -1}}
        self.payments.update_one({"_id": payment_id}, update, upsert=True, session=self.session)

    # -- customer-side and settings views --------------------------------------------
    def upsert(self, kind: str, record_id: str, values: Mapping[str, Any]) -> None:
        collection = {"customer": self.customers, "contract": self.contracts,
                      "payment": self.payments, "setting": self.settings}[kind]
        values = {k: v for k, v in values.items() if not k.startswith("$") and k != "_id"}
        if "amount" in values:
            values["amount"] = to_decimal(values["amount"])
        update: dict[str, Any] = {"$set": values}
        if kind == "payment":  # a payment first named by an invoice already has these
            update["$setOnInsert"] = {"invoice_ids": [], "invoice_count": 0}
        collection.update_one({"_id": record_id}, update, upsert=True, session=self.session)

    def contract(self, contract_id: str | None) -> dict[str, Any] | None:
        return self._get(self.contracts, contract_id)

    def set_payment_scope(self, contract_id: str, owner_id: Any, department_id: Any) -> None:
        self.payments.update_many({"contract_id": contract_id},
                                  {"$set": {"owner_id": owner_id, "department_id": department_id}},
                                  session=self.session)

    # -- reads for queries -----------------------------------------------------------
    def custom_fields(self) -> list[dict[str, Any]]:
        return list(self.settings.find({"stream_type": "custom_field"}, session=self.session))

    def find_invoices(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        # small batches: a broad query's views stream through, not 16 MB of them at once
        yield from self.invoices.find(dict(driver), session=self.session, batch_size=FIND_BATCH)

    def find_buckets(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield from self.buckets.find(dict(driver), session=self.session)

    def complete_families(self) -> frozenset[str]:
        complete = Generations(self.db).counts_customers(self.generation)
        return frozenset(FAMILIES) if complete else frozenset(FAMILIES) - COARSE

    def find(self, name: str, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield from self.db[collection_name(self.generation, name)].find(dict(driver), session=self.session)
