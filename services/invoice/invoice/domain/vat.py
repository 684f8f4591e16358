"""Chinese VAT on an invoice (增值税): the buyer's taxpayer number, the legal rates, the
tax inside a tax-inclusive amount and the goods lines (货物或应税劳务明细). Pure.

``amount`` is the tax-inclusive total (价税合计). Tax = amount x rate / (1 + rate),
rounded half-up to 0.01; with lines, per line and then summed (as the tax bureau's
software prints it), so the invoice's tax is the sum of what its lines show.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shared.errors import ValidationError
from shared.invoice_events import MIXED, TAX_RATES
from shared.money import parse_money

CENT = Decimal("0.01")
MAX_LINES = 1000
LINE_TEXT_LIMITS = {"name": 200, "spec": 100, "unit": 20}

# GB 32100-2015: 17 characters from this alphabet (no I, O, S, V, Z), weighted, and a
# check character = alphabet[(31 - sum mod 31) mod 31].
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_OLDER_FORMATS = {
    15: re.compile(r"^\d{6}[0-9A-Z]{9}$"),      # area code + organisation code
    17: re.compile(r"^[0-9A-Z]{17}$"),
    20: re.compile(r"^\d{17}[0-9X]\d{2}$"),     # ID card number + two digits
}


def check_tax_id(value: str) -> str:
    """The buyer's taxpayer number (纳税人识别号) as given, or ValueError saying why
    not: an 18-character unified social credit code with its check character right, or
    one of the older 15/17/20-character numbers in its format."""
    if value != value.upper():
        raise ValueError("use capital letters")
    if len(value) == 18:
        unused = sorted({c for c in value if c not in USCC_ALPHABET})
        if unused:
            raise ValueError(f"{''.join(unused)} not used in a unified social credit code")
        total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(value, USCC_WEIGHTS, strict=False))
        expected = USCC_ALPHABET[(31 - total % 31) % 31]
        if value[17] != expected:
            raise ValueError(f"check character is wrong (GB 32100-2015 gives {expected})")
        return value
    pattern = _OLDER_FORMATS.get(len(value))
    if pattern is None:
        raise ValueError("a taxpayer number has 15, 17, 18 or 20 characters")
    if not pattern.match(value):
        raise ValueError(f"not a {len(value)}-character taxpayer number")
    return value


def parse_tax_rate(value: Any) -> str:
    """One of the legal rates as its canonical decimal string (``"0.13"``)."""
    if not isinstance(value, str):
        raise ValueError(f"a decimal string, one of {', '.join(TAX_RATES)}")
    try:
        rate = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"one of {', '.join(TAX_RATES)}") from None
    for legal in TAX_RATES:
        if rate.is_finite() and rate == Decimal(legal):
            return legal
    raise ValueError(f"one of {', '.join(TAX_RATES)}")


def tax_of(amount: Decimal, rate: str) -> Decimal:
    """The tax inside a tax-inclusive amount, half-up to 0.01."""
    r = Decimal(rate)
    return (amount * r / (1 + r)).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_figures(amount: Decimal, tax_rate: str | None,
                lines: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """``{tax_rate, tax_amount, amount_excluding_tax, lines}`` for an invoice; with
    lines, checks each line and that they add up to ``amount`` exactly, and derives the
    rate (the lines' common one or ``mixed``). Without a rate there is no tax figure.
    ValidationError naming the field."""
    if tax_rate is not None and tax_rate != MIXED:
        tax_rate = _rate_or_error(tax_rate)
    if not lines:
        if tax_rate == MIXED:
            raise ValidationError.field("tax_rate", "mixed only with lines of different rates")
        if tax_rate is None:
            return {"tax_rate": None, "tax_amount": None, "amount_excluding_tax": None,
                    "lines": None}
        tax = tax_of(amount, tax_rate)
        return {"tax_rate": tax_rate, "tax_amount": tax, "amount_excluding_tax": amount - tax,
                "lines": None}
    checked = check_lines(lines)
    total = sum((line["amount"] for line in checked), Decimal(0))
    if total != amount:
        raise ValidationError.field("amount", f"the lines add up to {total}, not {amount}")
    rates = {line["tax_rate"] for line in checked}
    derived = rates.pop() if len(rates) == 1 else MIXED
    if tax_rate is not None and tax_rate != derived:
        raise ValidationError.field("tax_rate", f"the lines' rate is {derived}, not {tax_rate}")
    tax = sum((tax_of(line["amount"], line["tax_rate"]) for line in checked), Decimal(0))
    return {"tax_rate": derived, "tax_amount": tax, "amount_excluding_tax": amount - tax,
            "lines": checked}


def check_lines(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each line in its stored form (amount a Decimal, quantity and unit price decimal
    strings); errors keyed ``lines.<index>.<field>``."""
    if len(lines) > MAX_LINES:
        raise ValidationError.field("lines", f"at most {MAX_LINES} lines")
    errors: dict[int, dict[str, list[str]]] = {}
    result: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        stored, line_errors = _check_line(line)
        if line_errors:
            errors[index] = line_errors
        result.append(stored)
    if errors:
        raise ValidationError({"lines": errors})
    return result


def _check_line(line: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(line, Mapping):
        return {}, {"line": ["must be an object"]}
    unknown = set(line) - {"name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate"}
    for name in sorted(unknown):
        errors[str(name)] = ["unknown field"]
    stored: dict[str, Any] = {}
    for name, limit in LINE_TEXT_LIMITS.items():
        text = line.get(name)
        if text is None or text == "":
            if name == "name":
                errors[name] = ["is required"]
            continue
        if not isinstance(text, str) or len(text) > limit:
            errors[name] = [f"text of at most {limit} characters"]
        stored[name] = text
    try:
        stored["tax_rate"] = parse_tax_rate(line.get("tax_rate"))
    except ValueError as exc:
        errors["tax_rate"] = [str(exc)]
    try:
        stored["amount"] = parse_money(line.get("amount"))
    except ValueError as exc:
        errors["amount"] = [str(exc)]
    numbers = {}
    for name in ("quantity", "unit_price"):
        if line.get(name) is None:
            continue
        try:
            numbers[name] = _decimal_string(line[name])
            stored[name] = str(numbers[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    if len(numbers) == 1:
        missing = "unit_price" if "quantity" in numbers else "quantity"
        errors[missing] = ["give quantity and unit_price together"]
    if len(numbers) == 2 and "amount" in stored:
        quantity, price = numbers["quantity"], numbers["unit_price"]
        product = (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP)
        if product != stored["amount"]:
            errors["amount"] = [f"{quantity} x {price} = {product} (half-up to 0.01), "
                                f"not {stored['amount']}"]
    return stored, errors


def _decimal_string(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError("a decimal string such as \"1.5\"")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError("not a decimal number") from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ValueError("not a usable number")
    if (number.as_tuple().exponent or 0) < -8:  # type: ignore[operator]
        raise ValueError("at most 8 decimal places")
    return number


def _rate_or_error(value: Any) -> str:
    try:
        return parse_tax_rate(value)
    except ValueError as exc:
        raise ValidationError.field("tax_rate", str(exc)) from None
