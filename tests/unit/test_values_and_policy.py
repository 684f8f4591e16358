"""Money, dates, tokens and the role policy."""
from __future__ import annotations

from decimal import Decimal

import pytest

from shared.auth import Actor, Policy, bearer, issue_token, verify_authorization
from shared.dates import parse_date, parse_timestamp
from shared.errors import Forbidden, Unauthorized
from shared.money import money_str, parse_money


@pytest.mark.parametrize("text,expected", [("1234.5", "1234.50"), ("0.01", "0.01"), (7, "7.00"),
                                           (" 10 ", "10.00")])
def test_money_is_exact_with_two_places(text: object, expected: str) -> None:
    assert money_str(parse_money(text)) == expected
    assert isinstance(parse_money(text), Decimal)


@pytest.mark.parametrize("bad", ["1.001", "NaN", "Infinity", "abc", 1.5, True, None, "1e20"])
def test_bad_money_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_money(bad)


def test_positive_money_refuses_zero_and_negatives() -> None:
    for bad in ("0", "-1.00"):
        with pytest.raises(ValueError):
            parse_money(bad, positive=True)


def test_dates_must_exist_on_the_calendar() -> None:
    assert parse_date("2024-02-29") == "2024-02-29"
    for bad in ("2026-02-29", "2026-1-5", "20260105", 20260105):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_timestamps_are_normalised_to_utc() -> None:
    assert parse_timestamp("2026-05-01T08:00:00+08:00") == "2026-05-01T00:00:00.000Z"
    assert parse_timestamp("2026-05-01T00:00:00Z") == "2026-05-01T00:00:00.000Z"


def test_a_token_round_trips_to_the_actor() -> None:
    token = bearer(issue_token("s" * 32, sub="u1", name="Ann", department="d1", roles=["sales"]))

    actor = verify_authorization(token, "s" * 32)

    assert actor == Actor(id="u1", name="Ann", department="d1", roles=("sales",))


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer x.y.z"])
def test_malformed_authorization_is_unauthorized(header: object) -> None:
    with pytest.raises(Unauthorized):
        verify_authorization(header, "s" * 32)


def test_expired_or_forged_tokens_are_unauthorized() -> None:
    expired = bearer(issue_token("s" * 32, sub="u1", ttl_seconds=-5))
    forged = bearer(issue_token("t" * 32, sub="u1"))
    for header in (expired, forged):
        with pytest.raises(Unauthorized):
            verify_authorization(header, "s" * 32)


def test_the_default_policy_scopes_invoices_by_role() -> None:
    policy = Policy.load()
    sales = Actor("u1", department="d1", roles=("sales",))
    manager = Actor("m1", department="d1", roles=("sales_manager",))
    auditor = Actor("a1", roles=("auditor",))

    assert policy.covers(sales, "edit", "u1", "d9") and not policy.covers(sales, "view", "u2", "d1")
    assert policy.covers(manager, "edit", "u2", "d1") and not policy.covers(manager, "view", "u2", "d2")
    assert policy.covers(auditor, "view", "x", "y") and not policy.covers(auditor, "edit", "x", "y")
    with pytest.raises(Forbidden):
        policy.require(sales, "invoice.void")
