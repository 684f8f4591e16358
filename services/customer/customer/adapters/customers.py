"""MongoDB adapter of CustomerRepository: customer streams plus a ``customers`` state
collection that also answers the paged, case-insensitive name search.

The local store scans the whole collection for every ``$regex`` (and for ``$all`` or
``$and`` over an array), and ``limit`` does not stop a query early. So each state
document keeps its own search terms: ``name_lower`` (case-folded name), ``name_grams``
(every 1-, 2- and 3-character piece of it, multikey-indexed) and ``sort_key``
(``name_lower`` + id, unique: the keyset of the pages). A search asks the index for one
piece only (one equality): a needle of up to 3 characters is its own piece and needs
nothing more; a longer one uses its rarest 3-character piece -- names per piece are
counted in ``customer_name_grams`` in the same transaction -- and the full needle is
checked in Python.
"""
from __future__ import annotations

import base64
import binascii
from itertools import islice
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from customer.adapters.records import MongoRecordRepository, from_document
from customer.domain.model import Customer
from shared.errors import ValidationError
from shared.events.store import EventStore

GRAM_SIZES = (1, 2, 3)
# Sorts below every printable character, so "ab" + SEP + id precedes "abc" + SEP + id.
SEP = "\x01"


def fold(text: str) -> str:
    return text.casefold()


def pieces(folded: str, size: int) -> set[str]:
    return {folded[i:i + size] for i in range(len(folded) - size + 1)}


def name_grams(folded: str) -> set[str]:
    """Every piece of 1 to 3 characters of a case-folded name."""
    return set().union(*(pieces(folded, size) for size in GRAM_SIZES))


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> str:
    try:
        sort_key = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        sort_key = ""
    if SEP not in sort_key:
        raise ValidationError.field("cursor", "not a cursor returned by list_customers")
    return sort_key


class MongoCustomerRepository(MongoRecordRepository[Customer]):
    aggregate_type = Customer
    collection_name = "customers"
    internal_fields = ("name_lower", "name_grams", "sort_key")

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        super().__init__(db, store)
        self.gram_counts = db["customer_name_grams"]

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        db["customers"].create_index([("sort_key", ASCENDING)], unique=True, name="sort_key_unique")
        db["customers"].create_index([("name_grams", ASCENDING), ("sort_key", ASCENDING)],
                                     name="name_grams_sort_key")

    # -- writing ---------------------------------------------------------------------
    def state_document(self, record: Customer) -> dict[str, Any]:
        doc = super().state_document(record)
        folded = fold(record.fields["name"])
        doc.update(name_lower=folded, name_grams=sorted(name_grams(folded)),
                   sort_key=f"{folded}{SEP}{record.id}")
        return doc

    def write_state(self, before: Customer, after: Customer, session: ClientSession) -> None:
        super().write_state(before, after, session)
        longest = max(GRAM_SIZES)
        old, new = (pieces(fold(r.fields.get("name") or ""), longest) for r in (before, after))
        ops = [UpdateOne({"_id": g}, {"$inc": {"n": 1}}, upsert=True) for g in new - old]
        ops += [UpdateOne({"_id": g}, {"$inc": {"n": -1}}) for g in old - new]
        if ops:
            self.gram_counts.bulk_write(ops, ordered=False, session=session)

    # -- reading ---------------------------------------------------------------------
    def page(self, name_contains: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if cursor:
            query["sort_key"] = {"$gt": decode_cursor(cursor)}
        needle = fold((name_contains or "").strip())
        exact = True  # whether the index match alone proves the name contains the needle
        if needle:
            gram = needle if len(needle) <= max(GRAM_SIZES) else self._rarest(needle)
            if gram is None:
                return {"items": [], "next_cursor": None}
            query["name_grams"] = gram
            exact = gram == needle
        found = self.states.find(query, {"name_grams": 0}).sort("sort_key", ASCENDING)
        if exact:
            found = found.limit(limit + 1)
        with found:
            docs = list(islice((d for d in found if exact or needle in d["name_lower"]), limit + 1))
        next_cursor = encode_cursor(docs[limit - 1]["sort_key"]) if len(docs) > limit else None
        items = [from_document(_public(d)) for d in docs[:limit]]
        return {"items": items, "next_cursor": next_cursor}

    def _rarest(self, needle: str) -> str | None:
        """The needle's 3-character piece fewest names have; None when one is in no name."""
        grams = pieces(needle, max(GRAM_SIZES))
        counts = {d["_id"]: int(d["n"]) for d in self.gram_counts.find({"_id": {"$in": sorted(grams)}})}
        if any(counts.get(g, 0) <= 0 for g in grams):
            return None
        return min(sorted(grams), key=counts.__getitem__)


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in MongoCustomerRepository.internal_fields}
