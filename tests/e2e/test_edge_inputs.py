"""Edge inputs the running services answered with a non-contract error (a RemoteError
of some Python type) or let through: each is now a ValidationError naming the field,
with nothing appended."""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.auth import bearer, service_token
from shared.errors import ValidationError
from tests.e2e.approval_support import flow_data
from tests.e2e.test_invoice_lifecycle import log_end
from tests.support.factories import World, invoice_data, unique
from tests.support.infra import signing_key

HUGE = 2 ** 63
EARLY = "0001-01-01T00:00:00+01:00"
Call = Callable[[Any, dict[str, Any]], Any]


@pytest.fixture
def invoice(admin: Any, world: World) -> dict[str, Any]:
    return dict(admin.invoice.create_invoice(invoice_data(world.customer()["id"])))


def named(messages: Any, field: str) -> bool:
    """``field`` (dotted) names an error, flat (``"query.cursor"``) or nested."""
    def paths(node: Any, prefix: str) -> list[str]:
        if not isinstance(node, dict):
            return [prefix]
        return [p for key, inner in node.items()
                for p in paths(inner, f"{prefix}.{key}" if prefix else str(key))]
    return any(p == field or p.startswith(field + ".") for p in paths(messages, ""))


def tampered_cursor(admin: Any) -> str:
    """A real next_cursor of an amount-sorted search, its amount replaced by "NaN"."""
    page = admin.search.search({"sort": [{"field": "amount", "dir": "asc"}], "limit": 1})
    payload = json.loads(base64.urlsafe_b64decode(page["next_cursor"].encode()))
    payload["v"][0] = "NaN"
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


CALLS: list[tuple[str, Call, str]] = [
    ("get_invoice as_of 2^63", lambda h, i: h.invoice.get_invoice(i["id"], as_of=HUGE), "as_of"),
    ("get_invoice as_of year 0", lambda h, i: h.invoice.get_invoice(i["id"], as_of=EARLY), "as_of"),
    ("read_events 2^63", lambda h, i: h.invoice.read_events(after_position=HUGE), "after_position"),
    ("customer read_events 2^63", lambda h, i: h.customer.read_events(after_position=HUGE),
     "after_position"),
    ("get_events 2^63", lambda h, i: h.invoice.get_events(i["id"], after_version=HUGE), "after_version"),
    ("customer get_events 2^63", lambda h, i: h.customer.get_events(i["customer_id"], after_version=HUGE),
     "after_version"),
    ("approval read_events 2^63", lambda h, i: h.approval.read_events(after_position=HUGE),
     "after_position"),
    ("get_flow version 2^63", lambda h, i: h.approval.get_flow("flow_x", version=HUGE), "version"),
    ("created_at filter year 0", lambda h, i: h.search.search(
        {"filters": [{"field": "created_at", "op": "gte", "value": EARLY}]}), "query.filters.0.value"),
    ("updated_at filter year 0", lambda h, i: h.search.stats(
        {"filters": [{"field": "updated_at", "op": "lt", "value": EARLY}]}), "query.filters.0.value"),
    ("flow condition year 0", lambda h, i: h.approval.define_flow(flow_data(i["customer_id"], condition=[
        {"field": "created_at", "op": "gte", "value": EARLY}])), "condition"),
    ("search cursor NaN", lambda h, i: h.search.search(
        {"sort": [{"field": "amount", "dir": "asc"}], "limit": 1, "cursor": tampered_cursor(h)}),
     "query.cursor"),
    ("amount full-width", lambda h, i: h.invoice.update_field(i["id"], "amount", "１２３"), "amount"),
    ("amount 1e3", lambda h, i: h.invoice.update_field(i["id"], "amount", "1e3"), "amount"),
    ("issued_on week date", lambda h, i: h.invoice.update_field(i["id"], "issued_on", "2026-W01-1"),
     "issued_on"),
    ("title blank", lambda h, i: h.invoice.update_field(i["id"], "title", "  \n "), "title"),
    ("owner_id newline", lambda h, i: h.invoice.update_field(i["id"], "owner_id", "u-1\n"), "owner_id"),
    ("type newline", lambda h, i: h.invoice.update_field(i["id"], "type", "receipt\n"), "type"),
    ("void reason blank", lambda h, i: h.invoice.void_invoice(i["id"], "   "), "reason"),
    ("type key newline", lambda h, i: h.invoice.create_invoice_type(
        {"key": "k" + unique("")[1:7] + "\n", "label": "x", "color": "#AA66CC"}), "key"),
    ("colour newline", lambda h, i: h.invoice.create_invoice_type(
        {"key": "k" + unique("")[1:7], "label": "x", "color": "#AA66CC\n"}), "color"),
    ("active 'yes'", lambda h, i: h.invoice.update_invoice_type("receipt", {"active": "no"}), "active"),
    ("active 1", lambda h, i: h.invoice.update_custom_field("nope", {"active": 1}), "active"),
    ("approver newline", lambda h, i: h.approval.define_flow(flow_data(i["customer_id"], stages=[
        {"name": "s", "approvers": ["user:x\n"], "mode": "any"}])), "stages"),
    ("trigger 'yes'", lambda h, i: h.approval.define_flow(flow_data(i["customer_id"],
                                                                     trigger_on_create="yes")),
     "trigger_on_create"),
]


@pytest.mark.parametrize("call, field", [(c, f) for _, c, f in CALLS], ids=[n for n, _, _ in CALLS])
def test_an_edge_input_is_a_validation_error_naming_the_field(
        admin: Any, invoice: dict[str, Any], call: Call, field: str) -> None:
    before = log_end(admin)

    with pytest.raises(ValidationError) as error:
        call(admin, invoice)

    assert named(error.value.args[0], field), error.value.args[0]
    assert log_end(admin, before) == before


@pytest.mark.parametrize("number", ["1" + "0" * 40, "1E+7000"])
def test_a_custom_number_that_cannot_be_stored_exactly_is_refused(admin: Any, world: World,
                                                                   number: str) -> None:
    key = "n" + unique("")[1:9]
    admin.invoice.define_custom_field({"key": key, "label": "数", "kind": "number"})
    customer_id = world.customer()["id"]

    with pytest.raises(ValidationError) as error:
        admin.invoice.create_invoice(invoice_data(customer_id, custom={key: number}))

    assert "custom" in error.value.args[0]
    with pytest.raises(ValidationError):
        admin.search.search({"filters": [{"field": f"custom.{key}", "op": "gt", "value": number}]})
    made = admin.invoice.create_invoice(invoice_data(customer_id, custom={key: "12345.678"}))
    assert admin.invoice.verify(made["id"])["ok"] is True


@pytest.mark.parametrize("request_id", [float("nan"), {"$gt": ""}, "r" * 1_000_000],
                         ids=["nan", "operator", "1MB"])
def test_the_approval_outcome_takes_only_an_id_as_request_id(
        clients: Any, admin: Any, invoice: dict[str, Any], request_id: Any) -> None:
    approval = clients.with_authorization(bearer(service_token(signing_key("approval"))))
    before = log_end(admin)

    with pytest.raises(ValidationError) as error:
        approval.invoice.record_approval_status(invoice["id"], "pending", request_id)

    assert "request_id" in error.value.args[0]
    assert log_end(admin, before) == before


def test_an_approval_status_of_none_set_again_appends_nothing(
        clients: Any, admin: Any, invoice: dict[str, Any]) -> None:
    approval = clients.with_authorization(bearer(service_token(signing_key("approval"))))
    before = log_end(admin)

    again = approval.invoice.record_approval_status(invoice["id"], "none", "apr_" + unique("")[1:])

    assert again["version"] == invoice["version"] and log_end(admin, before) == before
