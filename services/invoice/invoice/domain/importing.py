"""Bulk import (导入): what one row of an import answers.

An import sends rows shaped like ``create_invoice``'s data plus an optional
``external_id`` (the row's id in the system it comes from). A row whose
``external_id`` was imported before is skipped, so a file whose import was cut off can
simply be sent again; the id is stored with the invoice's first event, in one
transaction (``InvoiceRepository.save_imported``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS_PER_CALL = 500
OK = "ok"            # dry run: the row would be created
CREATED = "created"
SKIPPED = "skipped"  # its external_id was imported before
ERROR = "error"


class AlreadyImported(Exception):
    """Raised when an external_id was imported before (nothing was written)."""

    def __init__(self, external_id: str, invoice_id: str) -> None:
        super().__init__(f"{external_id!r} was imported before as {invoice_id}")
        self.external_id = external_id
        self.invoice_id = invoice_id


@dataclass(frozen=True)
class ImportRow:
    """One row as the schema loaded it: its values, or the schema's errors by field."""

    values: Mapping[str, Any] = field(default_factory=dict)
    errors: Mapping[str, Any] = field(default_factory=dict)
    external_id: str | None = None


def skipped(external_id: str, invoice_id: str | None) -> dict[str, Any]:
    """``invoice_id`` only when the actor may see that invoice (no existence oracle)."""
    result: dict[str, Any] = {"status": SKIPPED,
                              "message": f"external_id {external_id!r} was imported before"}
    if invoice_id is not None:
        result["invoice_id"] = invoice_id
    return result


def failed(errors: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(errors, str):
        errors = {"_row": [errors]}
    return {"status": ERROR, "errors": dict(errors)}
