"""What a credit note (红字发票) of an invoice holds: the original's buyer, type and links,
negative amounts. Pure: the caller records it (Invoice.create with ``credits``) together
with the original's CreditNoteIssued (Invoice.issue_credit)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoice.domain.model import Invoice
from invoice.domain.vat import MIXED, check_lines, tax_figures
from shared.errors import ValidationError

COPIED = ("title", "content", "type", "customer_id", "contract_id", "owner_id",
          "department_id", "buyer_name", "buyer_tax_id", "buyer_address_phone",
          "buyer_bank_account", "custom")


@dataclass(frozen=True)
class CreditNote:
    values: dict[str, Any]  # the note's invoice fields, amounts negative
    amount: Decimal  # the part credited, positive
    tax_amount: Decimal | None


def credit_note(original: Invoice, amount: Decimal | None,
                lines: Sequence[Mapping[str, Any]] | None, issued_on: str,
                invoice_no: str | None) -> CreditNote:
    """The note for ``amount`` (default: what remains) or for ``lines``. The note that
    credits what remains takes the rest of the original's tax, so the credited tax
    equals the invoice's to the cent. ValidationError naming the field."""
    remaining = original.remaining()
    figures = _figures(original, amount, lines, remaining)
    credited = figures["amount"]
    tax = figures["tax_amount"]
    values = {name: original.fields.get(name) for name in COPIED}
    values.update({
        "issued_on": issued_on, "invoice_no": invoice_no, "payment_ids": [],
        "amount": -credited, "tax_rate": figures["tax_rate"],
        "tax_amount": None if tax is None else -tax,
        "amount_excluding_tax": None if tax is None else tax - credited,
        "lines": [_negated(line) for line in figures["lines"]] if figures["lines"] else None,
    })
    return CreditNote(values, credited, tax)


def _figures(original: Invoice, amount: Decimal | None,
             lines: Sequence[Mapping[str, Any]] | None, remaining: Decimal) -> dict[str, Any]:
    if lines:
        total = sum((line["amount"] for line in check_lines(lines)), Decimal(0))
        if amount is not None and amount != total:
            raise ValidationError.field("amount", f"the lines add up to {total}, not {amount}")
        return dict(tax_figures(total, None, lines), amount=total)
    credited = remaining if amount is None else amount
    rate = original.fields.get("tax_rate")
    whole = credited == Decimal(original.fields["amount"]) and not original.credited()
    if whole and original.fields.get("lines"):
        return dict(tax_figures(credited, None, original.fields["lines"]), amount=credited)
    if rate == MIXED:
        raise ValidationError.field("lines", "name the lines credited: the invoice has several rates")
    figures = dict(tax_figures(credited, rate, None), amount=credited)
    if credited == remaining and original.fields.get("tax_amount") is not None:
        tax = Decimal(original.fields["tax_amount"]) - \
            Decimal(original.credit.get("credited_tax_amount") or 0)
        figures.update(tax_amount=tax, amount_excluding_tax=credited - tax)
    return figures


def _negated(line: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(line, amount=-Decimal(line["amount"]))
    if result.get("quantity") is not None:
        result["quantity"] = str(-Decimal(result["quantity"]))
    return result
