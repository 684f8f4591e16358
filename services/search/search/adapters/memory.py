"""Views held in memory: the target of an as-of fold (search.application.as_of). The same reads
and writes the projector and the queries use on MongoViews; a query's driver filter is
ignored (every invoice is a candidate: the queries check the whole query on each), and
there are no buckets (as-of queries count from the views)."""
from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from search.domain.views import to_decimal


class MemoryViews:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            name: {} for name in ("invoices", "customers", "contracts", "payments", "settings")}

    def lock(self, *keys: str) -> None:
        """One folding thread: nothing to conflict with."""

    def _get(self, table: str, record_id: str | None) -> dict[str, Any] | None:
        return self.tables[table].get(record_id) if record_id else None

    # -- Directory -------------------------------------------------------------------
    def customer_name(self, customer_id: str | None) -> str | None:
        doc = self._get("customers", customer_id)
        return doc.get("name") if doc else None

    def contract_number(self, contract_id: str | None) -> str | None:
        doc = self._get("contracts", contract_id)
        return doc.get("number") if doc else None

    def payment(self, payment_id: str) -> Mapping[str, Any] | None:
        doc = self._get("payments", payment_id)
        return doc if doc and doc.get("known") else None

    def invoice_type(self, key: str | None) -> Mapping[str, Any] | None:
        return self._get("settings", f"invoice_type-{key}") if key else None

    def custom_kind(self, key: str) -> str | None:
        doc = self._get("settings", f"custom_field-{key}")
        return doc.get("kind") if doc else None

    # -- invoice views ---------------------------------------------------------------
    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        doc = self._get("invoices", invoice_id)
        return copy.deepcopy(doc) if doc else None

    def save_invoice(self, doc: Mapping[str, Any]) -> None:
        self.tables["invoices"][doc["_id"]] = copy.deepcopy(dict(doc))

    def invoices_where(self, field: str, value: str) -> Iterator[dict[str, Any]]:
        for doc in list(self.tables["invoices"].values()):
            found = doc.get(field)
            if found == value or (isinstance(found, list) and value in found):
                yield copy.deepcopy(doc)

    def bump_buckets(self, changes: Mapping[str, Any]) -> None:
        """No buckets in memory."""

    def cover_payment(self, payment_id: str, invoice_id: str, covered: bool) -> None:
        doc = self.tables["payments"].setdefault(payment_id, {"_id": payment_id, "invoice_ids": [],
                                                              "invoice_count": 0})
        ids = [i for i in doc.get("invoice_ids") or [] if i != invoice_id]
        doc["invoice_ids"] = ids + ([invoice_id] if covered else [])
        doc["invoice_count"] = int(doc.get("invoice_count") or 0) + (1 if covered else -1)

    # -- customer-side and settings views --------------------------------------------
    def upsert(self, kind: str, record_id: str, values: Mapping[str, Any]) -> None:
        table = {"customer": "customers", "contract": "contracts", "payment": "payments",
                 "setting": "settings"}[kind]
        doc = self.tables[table].setdefault(record_id, {"_id": record_id})
        if kind == "payment":
            doc.setdefault("invoice_ids", [])
            doc.setdefault("invoice_count", 0)
        values = {k: v for k, v in values.items() if not k.startswith("$") and k != "_id"}
        if "amount" in values:
            values["amount"] = to_decimal(values["amount"])
        doc.update(copy.deepcopy(values))

    def contract(self, contract_id: str | None) -> dict[str, Any] | None:
        return self._get("contracts", contract_id)

    def set_payment_scope(self, contract_id: str, owner_id: Any, department_id: Any) -> None:
        for doc in self.tables["payments"].values():
            if doc.get("contract_id") == contract_id:
                doc.update(owner_id=owner_id, department_id=department_id)

    # -- reads for queries -----------------------------------------------------------
    def custom_fields(self) -> list[dict[str, Any]]:
        return [d for d in self.tables["settings"].values() if d.get("stream_type") == "custom_field"]

    def find_invoices(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield from (copy.deepcopy(d) for d in self.tables["invoices"].values())

    def find_buckets(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield from ()

    def complete_families(self) -> frozenset[str]:
        return frozenset()

    def find(self, name: str, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield from (copy.deepcopy(d) for d in self.tables[name].values()
                    if all(d.get(k) == v for k, v in driver.items()))
