"""The invoice contract, through RPC, as another internal system would call it."""
from __future__ import annotations

import time
from typing import Any

import pytest

from shared.dates import utc_now
from shared.errors import ConcurrencyConflict, Conflict, NotFound
from tests.support.factories import World, invoice_data, unique


def log_end(hub: Any, after: int = 0) -> int:
    """The position of the last event in the invoice store."""
    while True:
        page = hub.invoice.read_events(after_position=after, limit=1000)
        if not page["events"]:
            return after
        after = page["last_position"]


def test_creating_an_invoice_records_every_field_with_a_readable_number(admin: Any, world: World) -> None:
    customer, contract, payment = world.linked()
    data = invoice_data(customer["id"], contract_id=contract["id"], payment_ids=[payment["id"]],
                        invoice_no=unique("NO"), tracking_number="SF1234567890", courier="顺丰")

    invoice = admin.invoice.create_invoice(data)

    assert invoice["number"].startswith(f"INV-{time.gmtime().tm_year}-")
    assert invoice["version"] == 1 and invoice["status"] == "active"
    assert invoice["approval_status"] == "none"
    assert invoice["amount"] == "30000.00"
    assert invoice["owner_id"] == "admin-1" and invoice["department_id"] == "dept-1"
    for name in ("title", "type", "issued_on", "customer_id", "contract_id", "payment_ids",
                 "invoice_no", "tracking_number", "courier"):
        assert invoice[name] == data[name]
    assert invoice["created_by"]["id"] == "admin-1"
    assert admin.invoice.get_invoice(invoice["id"]) == invoice


def test_a_single_field_edit_appends_one_event_and_an_equal_value_appends_none(admin: Any, world: World) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))

    edited = admin.invoice.update_field(invoice["id"], "tracking_number", "SF000111")
    unchanged = admin.invoice.update_field(invoice["id"], "tracking_number", "SF000111")

    assert edited["version"] == 2 and edited["tracking_number"] == "SF000111"
    assert unchanged["version"] == 2
    history = admin.invoice.get_history(invoice["id"])
    assert [h["event_type"] for h in history] == ["InvoiceCreated", "InvoiceFieldsChanged"]
    assert history[1]["changes"] == {"tracking_number": {"from": None, "to": "SF000111"}}
    assert history[1]["actor"] == {"id": "admin-1", "name": "管理员"}


def test_update_invoice_changes_several_fields_in_one_event(admin: Any, world: World) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))

    updated = admin.invoice.update_invoice(invoice["id"], {"courier": "EMS", "amount": "31000.5",
                                                           "remarks": "客户要求加急"})

    assert updated["version"] == 2 and updated["amount"] == "31000.50"
    changes = admin.invoice.get_history(invoice["id"])[-1]["changes"]
    assert changes == {"courier": {"from": None, "to": "EMS"},
                       "amount": {"from": "30000.00", "to": "31000.50"},
                       "remarks": {"from": None, "to": "客户要求加急"},
                       # recomputed with the amount (rate 0: no tax), in the same event
                       "amount_excluding_tax": {"from": "30000.00", "to": "31000.50"}}


def test_voiding_frees_the_invoice_no_and_freezes_the_invoice(admin: Any, world: World) -> None:
    customer_id = world.customer()["id"]
    number = unique("NO")
    first = admin.invoice.create_invoice(invoice_data(customer_id, invoice_no=number))
    with pytest.raises(Conflict):
        admin.invoice.create_invoice(invoice_data(customer_id, invoice_no=number))
    other_type = admin.invoice.create_invoice(invoice_data(customer_id, invoice_no=number, type="receipt"))

    voided = admin.invoice.void_invoice(first["id"], "开错抬头")
    again = admin.invoice.create_invoice(invoice_data(customer_id, invoice_no=number))

    assert voided["status"] == "void" and voided["void_reason"] == "开错抬头"
    assert again["invoice_no"] == number and other_type["invoice_no"] == number
    with pytest.raises(Conflict):
        admin.invoice.void_invoice(first["id"], "again")
    with pytest.raises(Conflict):
        admin.invoice.update_field(first["id"], "remarks", "too late")


def test_changing_an_invoice_no_to_a_taken_one_is_a_conflict_and_writes_nothing(admin: Any, world: World) -> None:
    customer_id = world.customer()["id"]
    taken = admin.invoice.create_invoice(invoice_data(customer_id, invoice_no=unique("NO")))
    other = admin.invoice.create_invoice(invoice_data(customer_id))

    with pytest.raises(Conflict) as error:
        admin.invoice.update_field(other["id"], "invoice_no", taken["invoice_no"])

    assert "invoice_no" in error.value.args[0]
    assert admin.invoice.get_invoice(other["id"])["version"] == 1


def test_a_stale_expected_version_is_refused_with_the_current_version(admin: Any, world: World) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))
    admin.invoice.update_field(invoice["id"], "remarks", "first", expected_version=1)
    before = log_end(admin)

    with pytest.raises(ConcurrencyConflict) as error:
        admin.invoice.update_field(invoice["id"], "remarks", "second", expected_version=1)

    assert error.value.args[0]["current_version"] == 2
    assert log_end(admin, before) == before
    assert admin.invoice.get_invoice(invoice["id"])["remarks"] == "first"


def test_get_invoice_shows_only_filled_fields_and_past_states(admin: Any, world: World) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))
    between = utc_now()
    time.sleep(0.01)
    admin.invoice.update_field(invoice["id"], "courier", "顺丰")

    filled = admin.invoice.get_invoice(invoice["id"], only_filled=True)
    first = admin.invoice.get_invoice(invoice["id"], as_of=1)
    then = admin.invoice.get_invoice(invoice["id"], as_of=between)

    assert "courier" in filled and "tracking_number" not in filled and "payment_ids" not in filled
    assert first["version"] == 1 and first["courier"] is None
    assert then["version"] == 1
    with pytest.raises(NotFound):
        admin.invoice.get_invoice(invoice["id"], as_of=9)
    with pytest.raises(NotFound):
        admin.invoice.get_invoice(invoice["id"], as_of="2001-01-01T00:00:00Z")


def test_events_are_chained_in_one_global_order_and_verify(admin: Any, world: World) -> None:
    start = log_end(admin)
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))
    admin.invoice.update_field(invoice["id"], "remarks", "x")

    events = admin.invoice.get_events(invoice["id"])
    later = admin.invoice.get_events(invoice["id"], after_version=1)
    page = admin.invoice.read_events(after_position=start)
    report = admin.invoice.verify(invoice["id"])

    assert [e["version"] for e in events] == [1, 2] and [e["version"] for e in later] == [2]
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert {"event_id", "stream_id", "position", "type", "schema_version", "occurred_at",
            "actor", "correlation_id", "causation_id", "data", "prev_hash", "hash"} <= set(events[0])
    positions = [e["position"] for e in page["events"]]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert [e["event_id"] for e in page["events"] if e["stream_id"] == invoice["id"]] == \
        [e["event_id"] for e in events]
    assert report == {"ok": True, "checked": 2, "broken": []}
    assert admin.invoice.verify()["ok"] is True


def test_custom_fields_are_defined_by_admins_and_validate_values(admin: Any, world: World) -> None:
    key = f"level_{unique('k').split('-')[1]}"
    definition = admin.invoice.define_custom_field(
        {"key": key, "label": "客户等级", "kind": "select", "options": ["A", "B"]})
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"], custom={key: "A"}))

    edited = admin.invoice.update_field(invoice["id"], f"custom.{key}", "B")

    assert definition["kind"] == "select" and definition["version"] == 1
    assert edited["custom"] == {key: "B"}
    assert admin.invoice.get_history(invoice["id"])[-1]["changes"] == \
        {f"custom.{key}": {"from": "A", "to": "B"}}
    assert any(d["key"] == key for d in admin.invoice.list_custom_fields())
    updated = admin.invoice.update_custom_field(key, {"options": ["A", "B", "C"]})
    assert updated["options"] == ["A", "B", "C"] and updated["version"] == 2


def test_admins_add_invoice_types_with_a_colour_and_retire_them(admin: Any, world: World) -> None:
    key = f"voucher_{unique('k').split('-')[1]}"
    created = admin.invoice.create_invoice_type({"key": key, "label": "凭证", "color": "#aa66cc"})
    seeded = {t["key"] for t in admin.invoice.list_invoice_types()}

    admin.invoice.update_invoice_type(key, {"active": False})

    assert created["color"] == "#AA66CC" and created["active"] is True
    assert {"vat_special", "vat_ordinary", "receipt", key} <= seeded
    assert key not in {t["key"] for t in admin.invoice.list_invoice_types()}
    assert key in {t["key"] for t in admin.invoice.list_invoice_types(include_inactive=True)}
    with pytest.raises(Conflict):
        admin.invoice.create_invoice_type({"key": key, "label": "again", "color": "#000000"})


def test_an_auditor_replays_the_whole_history_and_finds_every_chain_intact(clients: Any, world: World) -> None:
    from shared.audit import audit
    admin = clients.as_user(roles=["admin"])
    admin.invoice.create_invoice(invoice_data(world.customer()["id"]))
    auditor = clients.as_user(roles=["auditor"])
    seen: list[int] = []

    invoice_report = audit(auditor.invoice, page_size=7, progress=lambda n, rate: seen.append(n))
    customer_report = audit(auditor.customer)

    assert invoice_report["ok"] and invoice_report["checked"] == log_end(admin)
    assert seen == sorted(seen) and seen[-1] == invoice_report["checked"]
    assert customer_report["ok"] and customer_report["checked"] > 0
