"""From a file's rows to ``invoice.import_invoices`` rows, in the export's columns.

The columns come from the same catalogue as the export's (shared/invoice_events.py):
the fields a caller sets are read (``lines`` as the export's JSON list), the export's
other columns (``id``, ``number``, ``status``, the derived VAT amounts …) are ignored,
and a credit note's row (``kind: credit``) is refused: a credit note is made with
``create_credit_note`` against its original, not imported. Customers
are matched by ``customer_id`` or by ``customer_name``, contracts by ``contract_id`` or
by ``contract_number``, types by ``type`` or ``type_label``; ``custom.<key>`` columns
become the ``custom`` object. A row repeating an earlier row's ``external_id`` (or
invoice_no of the same type) is refused here: the invoice service sees one batch at a
time, the file is seen whole only here.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gateway.export import COLUMNS, FORMULA_START, LOOKUP_OF
from shared.invoice_events import CREDIT, INVOICE_FIELDS

INPUT_COLUMNS = (*(field for field in INVOICE_FIELDS if field != "custom"), "external_id")
LOOKUP_COLUMNS = tuple(LOOKUP_OF.values())
# written by the export, made by the services: ignored on import
SYSTEM_COLUMNS = (*(c for c in COLUMNS if c not in INPUT_COLUMNS and c not in LOOKUP_COLUMNS),
                  "type_color", "pending_change")
REQUIRED = (("title",), ("type", "type_label"), ("amount",), ("issued_on",),
            ("customer_id", "customer_name"))
MAX_CUSTOMER_PAGES = 20
TRUE_TEXT = {"true", "1", "yes", "y", "是"}
FALSE_TEXT = {"false", "0", "no", "n", "否"}
Errors = dict[str, list[str]]
# the import key of a committed row without an external_id: job:<job id>:<row index>
JOB_KEY_PREFIX = "job:"


def check_columns(columns: list[str]) -> tuple[list[str], list[str]]:
    """The missing required columns (each as ``a or b``) and the ignored unknown ones."""
    present = set(columns)
    missing = [" or ".join(names) for names in REQUIRED if not present.intersection(names)]
    known = set(INPUT_COLUMNS) | set(LOOKUP_COLUMNS) | set(SYSTEM_COLUMNS)
    ignored = [c for c in columns if c not in known and not c.startswith("custom.")]
    return missing, ignored


def plain(text: str) -> str:
    """Undo the export's formula defusing (a leading apostrophe) and trim."""
    text = text.strip()
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def row_values(columns: list[str], cells: list[str]) -> dict[str, str]:
    return {name: plain(cell) for name, cell in zip(columns, cells, strict=False) if plain(cell)}


class RowMaker:
    """Turns one file's rows into service rows; remembers what earlier rows used and
    caches what it looked up (types, custom fields, customers, contracts)."""

    def __init__(self, lookup: Callable[..., Any]) -> None:
        self.lookup = lookup                  # lookup(service, method, *args)
        self.external_ids: dict[str, int] = {}
        self.invoice_nos: dict[tuple[str, str], int] = {}
        self._types: dict[str, str] | None = None
        self._bools: set[str] | None = None
        self._customers: dict[str, list[str]] = {}
        self._contracts: dict[str, dict[str, str]] = {}

    def make(self, line: int, values: dict[str, str]) -> tuple[dict[str, Any], Errors]:
        """``(data, errors)``: the data for the invoice service and what was wrong
        before it (unknown names, repeats within the file)."""
        data: dict[str, Any] = {k: v for k, v in values.items() if k in INPUT_COLUMNS}
        errors: Errors = {}
        if values.get("kind", "").lower() == CREDIT:
            errors["kind"] = ["a credit note is not imported: make it with create_credit_note "
                              "against the invoice it credits"]
        if "payment_ids" in data:
            data["payment_ids"] = [p.strip() for p in data["payment_ids"].split(";") if p.strip()]
        if "lines" in data:
            data["lines"] = self._lines(data["lines"], errors)
        custom = {k[7:]: v for k, v in values.items() if k.startswith("custom.")}
        if custom:
            data["custom"] = {k: self._custom_value(k, v) for k, v in custom.items()}
        if "type" not in data and "type_label" in values:
            self._resolve_type(values["type_label"], data, errors)
        if "customer_id" not in data and "customer_name" in values:
            self._resolve_customer(values["customer_name"], data, errors)
        if "contract_id" not in data and "contract_number" in values:
            self._resolve_contract(values["contract_number"], data, errors)
        if data.get("external_id", "").startswith(JOB_KEY_PREFIX):
            errors["external_id"] = [f"may not start with {JOB_KEY_PREFIX!r} (the import's own keys)"]
        self._check_repeats(line, data, errors)
        return data, errors

    def remember(self, line: int, values: dict[str, str]) -> None:
        """A row done before a resume: later repeats of its keys are still repeats."""
        data: dict[str, Any] = {k: v for k, v in values.items() if k in ("external_id", "invoice_no",
                                                                          "type")}
        if "type" not in data and "type_label" in values:
            self._resolve_type(values["type_label"], data, {})
        self._check_repeats(line, data, {})

    @staticmethod
    def _lines(text: str, errors: Errors) -> Any:
        """The export's JSON list of lines; anything else is an error of ``lines``."""
        try:
            lines = json.loads(text)
        except ValueError:
            lines = None
        if not isinstance(lines, list):
            errors["lines"] = ["not a JSON list of lines (as the export writes them)"]
            return text
        return lines

    def _check_repeats(self, line: int, data: dict[str, Any], errors: Errors) -> None:
        external_id = data.get("external_id")
        if external_id:
            first = self.external_ids.setdefault(external_id, line)
            if first != line:
                errors["external_id"] = [f"repeats row {first} of this file"]
        if data.get("invoice_no") and data.get("type"):
            key = (data["type"], data["invoice_no"])
            first = self.invoice_nos.setdefault(key, line)
            if first != line:
                errors["invoice_no"] = [f"repeats row {first} of this file (same type)"]

    def _resolve_type(self, label: str, data: dict[str, Any], errors: Errors) -> None:
        if self._types is None:
            self._types = {t["label"]: t["key"] for t in self.lookup("invoice", "list_invoice_types")}
        if label in self._types:
            data["type"] = self._types[label]
        else:
            errors["type_label"] = [f"no active invoice type is labelled {label!r}"]

    def _custom_value(self, key: str, text: str) -> Any:
        if self._bools is None:
            self._bools = {f["key"] for f in self.lookup("invoice", "list_custom_fields")
                           if f.get("kind") == "bool"}
        if key in self._bools and text.lower() in TRUE_TEXT | FALSE_TEXT:
            return text.lower() in TRUE_TEXT
        return text

    def _resolve_customer(self, name: str, data: dict[str, Any], errors: Errors) -> None:
        if name not in self._customers:
            self._customers[name] = self._customers_named(name)
        found = self._customers[name]
        if len(found) == 1:
            data["customer_id"] = found[0]
        elif not found:
            errors["customer_name"] = [f"no customer is named {name!r}"]
        else:
            errors["customer_name"] = [f"{len(found)} customers are named {name!r}: "
                                       "give customer_id instead"]

    def _customers_named(self, name: str) -> list[str]:
        found: list[str] = []
        cursor = None
        for _ in range(MAX_CUSTOMER_PAGES):
            page = self.lookup("customer", "list_customers", name_contains=name, limit=100,
                               cursor=cursor)
            found += [c["id"] for c in page["items"] if c.get("name") == name]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return found

    def _resolve_contract(self, number: str, data: dict[str, Any], errors: Errors) -> None:
        customer_id = data.get("customer_id")
        if not customer_id:
            errors.setdefault("contract_number", ["needs the row's customer"])
            return
        if customer_id not in self._contracts:
            self._contracts[customer_id] = {
                c["number"]: c["id"] for c in self.lookup("customer", "list_contracts", customer_id)}
        if number in self._contracts[customer_id]:
            data["contract_id"] = self._contracts[customer_id][number]
        else:
            errors["contract_number"] = [f"the customer has no contract numbered {number!r}"]


def merged(service_result: dict[str, Any], before: Errors) -> dict[str, Any]:
    """A row's answer: the service's, with the errors found before it added (an
    unresolved name replaces the service's "customer_id is required")."""
    if not before:
        return service_result
    errors = dict(service_result.get("errors") or {})
    if "customer_name" in before:
        errors.pop("customer_id", None)
    if "contract_number" in before:
        errors.pop("contract_id", None)
    if "type_label" in before:
        errors.pop("type", None)
    errors.update(before)
    return {"status": "error", "errors": errors}
