"""The search service through RPC: views, queries, stats, reconciliation, data scope."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.errors import Forbidden, NotFound, ValidationError
from tests.e2e.search_support import settled, view_at
from tests.support.factories import World, invoice_data, unique
from tests.support.infra import wait_for


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def test_an_invoice_view_has_every_field_and_the_joined_names(admin: Any, world: World) -> None:
    customer, contract, payment = world.linked()
    invoice = admin.invoice.create_invoice(invoice_data(
        customer["id"], contract_id=contract["id"], payment_ids=[payment["id"]],
        invoice_no=unique("NO"), tracking_number=unique("SF"), courier="顺丰"))

    view = view_at(admin, invoice)

    for name, value in invoice.items():
        assert view[name] == value, name
    assert view["customer_name"] == customer["name"]
    assert view["contract_number"] == contract["number"]
    assert view["type_label"] == "增值税专用发票" and view["type_color"] == "#D9534F"
    assert view["payments"] == [{"id": payment["id"], "amount": "30000.00",
                                 "received_on": payment["received_on"]}]
    assert "terms" not in view and "_id" not in view
    filled = admin.search.get_invoice_view(invoice["id"], only_filled=True)
    assert "remarks" not in filled and filled["title"] == invoice["title"]


def test_a_renamed_customer_shows_its_new_name_on_its_invoices(admin: Any, world: World) -> None:
    customer = world.customer()
    invoice = admin.invoice.create_invoice(invoice_data(customer["id"]))
    view_at(admin, invoice)
    new_name = unique("北京新名字")

    admin.customer.update_customer(customer["id"], {"name": new_name})
    settled(admin)

    assert admin.search.get_invoice_view(invoice["id"])["customer_name"] == new_name
    found = admin.search.search({"text": new_name})
    assert [i["id"] for i in found["items"]] == [invoice["id"]]


def test_which_invoice_went_out_with_a_courier_number(admin: Any, world: World) -> None:
    customer = world.customer()
    tracking = "SF" + unique("")[1:].upper()
    wanted = admin.invoice.create_invoice(invoice_data(customer["id"], courier="顺丰速运"))
    admin.invoice.update_field(wanted["id"], "tracking_number", tracking)
    other = admin.invoice.create_invoice(invoice_data(customer["id"], tracking_number=unique("SF")))
    view_at(admin, other)
    settled(admin)

    exact = admin.search.search({"filters": [{"field": "tracking_number", "op": "eq", "value": tracking}]})
    partial = admin.search.search({"filters": [{"field": "tracking_number", "op": "contains",
                                                "value": tracking[:8].lower()}]})
    text = admin.search.search({"text": tracking[:6]})

    assert [i["id"] for i in exact["items"]] == [wanted["id"]] and exact["total"] == 1
    assert [i["id"] for i in partial["items"]] == [wanted["id"]]
    assert wanted["id"] in by_id(text["items"]) and other["id"] not in by_id(text["items"])


def test_free_text_finds_chinese_words_and_custom_values(admin: Any, world: World) -> None:
    key = f"cf{unique('')[1:7]}"
    admin.invoice.define_custom_field({"key": key, "label": "项目", "kind": "text"})
    customer = world.customer(name=unique("杭州云栖科技有限公司"))
    marker = unique("Zeta")
    invoice = admin.invoice.create_invoice(invoice_data(
        customer["id"], title="五月技术服务费", custom={key: f"项目代号 {marker}"}))
    view_at(admin, invoice)

    for text in ("云栖科技", "技术服务", marker.lower(), f"代号 {marker}"):
        found = admin.search.search({"text": text, "filters": [
            {"field": "customer_id", "op": "eq", "value": customer["id"]}]})
        assert [i["id"] for i in found["items"]] == [invoice["id"]], text
    custom = admin.search.search({"filters": [{"field": f"custom.{key}", "op": "contains", "value": marker}]})
    assert [i["id"] for i in custom["items"]] == [invoice["id"]]
    assert admin.search.search({"text": "不存在的词语组合"})["total"] == 0


OPS_CASES = [
    ("eq", "amount", "100.00", {"a"}),
    ("ne", "amount", "100.00", {"b", "c"}),
    ("in", "invoice_no", ["N-A", "N-C"], {"a", "c"}),
    ("nin", "invoice_no", ["N-A", "N-C"], {"b"}),
    ("gt", "amount", "100.00", {"b", "c"}),
    ("gte", "amount", "200.50", {"b", "c"}),
    ("lt", "issued_on", "2026-02-01", {"a"}),
    ("lte", "issued_on", "2026-02-10", {"a", "b"}),
    ("between", "amount", ["100.00", "200.50"], {"a", "b"}),
    ("contains", "title", "ALPHA", {"a"}),
    ("prefix", "title", "beta", {"b"}),
    ("exists", "remarks", True, {"c"}),
    ("exists", "remarks", False, {"a", "b"}),
]


@pytest.fixture(scope="module")
def three_invoices(system: Any) -> dict[str, Any]:
    from tests.support.actors import Clients
    clients = Clients(system.client_uri)
    hub = clients.as_user(roles=["admin"], sub="admin-ops")
    world = World(hub)
    customer = world.customer()
    made = {
        "a": hub.invoice.create_invoice(invoice_data(customer["id"], title="Alpha 服务费", amount="100.00",
                                                     issued_on="2026-01-15", invoice_no="N-A")),
        "b": hub.invoice.create_invoice(invoice_data(customer["id"], title="Beta 服务费", amount="200.50",
                                                     issued_on="2026-02-10", invoice_no="N-B",
                                                     type="vat_ordinary")),
        "c": hub.invoice.create_invoice(invoice_data(customer["id"], title="Gamma", amount="300.25",
                                                     issued_on="2026-03-05", invoice_no="N-C",
                                                     remarks="加急", type="receipt")),
    }
    for invoice in made.values():
        view_at(hub, invoice)
    clients.close()
    return {"customer": customer, "invoices": made}


@pytest.mark.parametrize(("op", "field", "value", "expected"), OPS_CASES)
def test_every_filter_op_selects_the_right_invoices(admin: Any, three_invoices: dict[str, Any], op: str,
                                                    field: str, value: Any, expected: set[str]) -> None:
    ids = {invoice["id"]: name for name, invoice in three_invoices["invoices"].items()}
    query = {"filters": [{"field": "customer_id", "op": "eq", "value": three_invoices["customer"]["id"]},
                         {"field": field, "op": op, "value": value}]}

    found = admin.search.search(query)

    assert {ids[i["id"]] for i in found["items"]} == expected
    assert found["total"] == len(expected)


def test_match_any_combines_filters_with_or(admin: Any, three_invoices: dict[str, Any]) -> None:
    ids = {invoice["id"]: name for name, invoice in three_invoices["invoices"].items()}
    found = admin.search.search({"match": "any", "filters": [
        {"field": "invoice_no", "op": "eq", "value": "N-A"},
        {"field": "invoice_no", "op": "eq", "value": "N-C"}]})
    assert {ids[i["id"]] for i in found["items"] if i["id"] in ids} == {"a", "c"}


def test_sorting_and_the_default_order(admin: Any, three_invoices: dict[str, Any]) -> None:
    names = {invoice["id"]: name for name, invoice in three_invoices["invoices"].items()}
    flt = [{"field": "customer_id", "op": "eq", "value": three_invoices["customer"]["id"]}]
    default = admin.search.search({"filters": flt})
    by_amount = admin.search.search({"filters": flt, "sort": [{"field": "amount", "dir": "asc"}]})
    assert [names[i["id"]] for i in default["items"]] == ["c", "b", "a"]
    assert [names[i["id"]] for i in by_amount["items"]] == ["a", "b", "c"]


GROUP_CASES = [
    (["type"], {("vat_special",): (1, "100.00"), ("vat_ordinary",): (1, "200.50"), ("receipt",): (1, "300.25")}),
    (["month"], {("2026-01",): (1, "100.00"), ("2026-02",): (1, "200.50"), ("2026-03",): (1, "300.25")}),
    (["day"], {("2026-01-15",): (1, "100.00"), ("2026-02-10",): (1, "200.50"), ("2026-03-05",): (1, "300.25")}),
    (["status"], {("active",): (3, "600.75")}),
    (["approval_status"], {("none",): (3, "600.75")}),
    (["owner_id"], {("admin-ops",): (3, "600.75")}),
    (["department_id"], {("dept-1",): (3, "600.75")}),
    (["contract_id"], {(None,): (3, "600.75")}),
    (["customer_id", "type"], None),
]


@pytest.mark.parametrize(("group_by", "expected"), GROUP_CASES)
def test_stats_group_by_every_dimension(admin: Any, three_invoices: dict[str, Any], group_by: list[str],
                                        expected: dict[tuple[Any, ...], tuple[int, str]] | None) -> None:
    customer_id = three_invoices["customer"]["id"]
    flt = {"filters": [{"field": "customer_id", "op": "eq", "value": customer_id}]}
    stats = admin.search.stats(flt, group_by)
    rows = {tuple(row[g] for g in group_by): (row["count"], row["amount"]) for row in stats["rows"]}
    if expected is None:
        expected = {(customer_id, "vat_special"): (1, "100.00"), (customer_id, "vat_ordinary"): (1, "200.50"),
                    (customer_id, "receipt"): (1, "300.25")}
    assert rows == expected
    assert stats["total"] == {"count": 3, "amount": "600.75", "tax_amount": "0.00", "amount_excluding_tax": "600.75"}
    # the same answer without buckets (a text filter forces aggregation over the views)
    slow = admin.search.stats({**flt, "text": "技术服务费"}, group_by)
    assert slow == stats


def test_vat_special_vs_ordinary_last_month_with_exact_sums(admin: Any, world: World) -> None:
    customer = world.customer()
    amounts = {"vat_special": ["0.10", "0.20", "1234567.89"], "vat_ordinary": ["0.30", "99.99"]}
    made = [admin.invoice.create_invoice(invoice_data(customer["id"], type=kind, amount=value,
                                                      issued_on="2025-11-20"))
            for kind, values in amounts.items() for value in values]
    voided = admin.invoice.create_invoice(invoice_data(customer["id"], amount="5.00", issued_on="2025-11-21"))
    made.append(admin.invoice.void_invoice(voided["id"], "开错了"))
    for invoice in made:
        view_at(admin, invoice)
    month = {"filters": [{"field": "issued_on", "op": "between", "value": ["2025-11-01", "2025-11-30"]},
                         {"field": "customer_id", "op": "eq", "value": customer["id"]}]}

    stats = admin.search.stats(month, ["type"])

    rows = {row["type"]: (row["count"], row["amount"]) for row in stats["rows"]}
    assert rows == {"vat_special": (3, "1234568.19"), "vat_ordinary": (2, "100.29")}
    assert Decimal(stats["total"]["amount"]) == Decimal("1234668.48")
    with_void = admin.search.stats({**month, "include_void": True}, ["status"])
    assert {r["status"]: r["count"] for r in with_void["rows"]} == {"active": 5, "void": 1}
    days = admin.search.calendar(2025, 11, {"filters": month["filters"][1:], "include_void": True})
    assert days == [{"date": "2025-11-20", "count": 5, "amount": "1234668.48", "tax_amount": "0.00", "amount_excluding_tax": "1234668.48"},
                    {"date": "2025-11-21", "count": 1, "amount": "5.00", "tax_amount": "0.00", "amount_excluding_tax": "5.00"}]


def test_has_every_payment_an_invoice(admin: Any, world: World) -> None:
    customer = world.customer()
    contract = world.contract(customer["id"], amount="90000.00")
    covered = world.payment(contract["id"], amount="30000.00", received_on="2026-04-01")
    open_payment = world.payment(contract["id"], amount="20000.00", received_on="2026-04-15")
    invoice = admin.invoice.create_invoice(invoice_data(customer["id"], contract_id=contract["id"],
                                                        payment_ids=[covered["id"]], amount="30000.00"))
    view_at(admin, invoice)
    settled(admin)

    missing = admin.search.uninvoiced_payments({"filters": [
        {"field": "customer_id", "op": "eq", "value": customer["id"]}]})
    recon = admin.search.reconciliation(customer_id=customer["id"])

    assert [p["id"] for p in missing["items"]] == [open_payment["id"]] and missing["total"] == 1
    assert recon == [{
        "contract_id": contract["id"], "contract_number": contract["number"], "customer_id": customer["id"],
        "contract_amount": "90000.00", "received_amount": "50000.00", "invoiced_amount": "30000.00",
        "payments": [{"id": covered["id"], "amount": "30000.00", "received_on": "2026-04-01",
                      "invoice_ids": [invoice["id"]]},
                     {"id": open_payment["id"], "amount": "20000.00", "received_on": "2026-04-15",
                      "invoice_ids": []}]}]

    admin.invoice.void_invoice(invoice["id"], "作废重开")
    settled(admin)
    again = admin.search.uninvoiced_payments({"filters": [
        {"field": "contract_id", "op": "eq", "value": contract["id"]},
        {"field": "amount", "op": "gte", "value": "25000"}]})
    assert [p["id"] for p in again["items"]] == [covered["id"]]


def test_the_customer_tab_pages_through_invoices_with_totals(admin: Any, world: World) -> None:
    customer = world.customer()
    made = [admin.invoice.create_invoice(invoice_data(customer["id"], amount=f"{n}.01",
                                                      issued_on=f"2026-05-{n:02d}")) for n in range(1, 6)]
    for invoice in made:
        view_at(admin, invoice)

    first = admin.search.customer_invoices(customer["id"], limit=3)
    second = admin.search.customer_invoices(customer["id"], limit=3, cursor=first["next_cursor"])

    assert first["count"] == 5 and first["amount"] == "15.05"
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in reversed(made)]
    assert second["next_cursor"] is None


def test_cursors_neither_skip_nor_repeat_when_writes_happen_between_pages(admin: Any, world: World) -> None:
    customer = world.customer()
    made = [admin.invoice.create_invoice(invoice_data(customer["id"], issued_on=f"2026-06-{n % 3 + 1:02d}"))
            for n in range(7)]
    view_at(admin, made[-1])
    settled(admin)
    flt = [{"field": "customer_id", "op": "eq", "value": customer["id"]}]
    seen: list[str] = []
    page = admin.search.search({"filters": flt, "limit": 3})
    seen += [i["id"] for i in page["items"]]

    newcomer = admin.invoice.create_invoice(invoice_data(customer["id"], issued_on="2026-06-03"))
    admin.invoice.update_field(made[0]["id"], "remarks", "改了备注")
    view_at(admin, newcomer)
    settled(admin)
    while page["next_cursor"]:
        page = admin.search.search({"filters": flt, "limit": 3, "cursor": page["next_cursor"]})
        seen += [i["id"] for i in page["items"]]

    assert len(seen) == len(set(seen))
    assert set(i["id"] for i in made) <= set(seen)


def test_data_scope_limits_every_read_to_what_the_actor_may_view(clients: Any, admin: Any, world: World) -> None:
    dept = unique("dept")
    seller = clients.as_user(roles=["sales"], sub=unique("sales"), department=dept)
    colleague = clients.as_user(roles=["sales"], sub=unique("sales"), department=dept)
    manager = clients.as_user(roles=["sales_manager"], sub=unique("mgr"), department=dept)
    outsider = clients.as_user(roles=["sales_manager"], sub=unique("mgr"), department=unique("dept"))
    auditor = clients.as_user(roles=["auditor"], sub=unique("aud"))
    customer = world.customer()
    own = seller.invoice.create_invoice(invoice_data(customer["id"], amount="10.00"))
    theirs = colleague.invoice.create_invoice(invoice_data(customer["id"], amount="20.00"))
    view_at(admin, own)
    view_at(admin, theirs)
    flt = {"filters": [{"field": "customer_id", "op": "eq", "value": customer["id"]}]}

    def ids(hub: Any) -> set[str]:
        return {i["id"] for i in hub.search.search(flt)["items"]}

    assert ids(seller) == {own["id"]}
    assert ids(manager) == ids(auditor) == {own["id"], theirs["id"]}
    assert ids(outsider) == set()
    assert seller.search.stats(flt, ["owner_id"])["total"] == {"count": 1, "amount": "10.00", "tax_amount": "0.00", "amount_excluding_tax": "10.00"}
    assert manager.search.stats(flt, ["owner_id"])["total"] == {"count": 2, "amount": "30.00", "tax_amount": "0.00", "amount_excluding_tax": "30.00"}
    assert outsider.search.customer_invoices(customer["id"])["count"] == 0
    with pytest.raises(Forbidden):
        seller.search.get_invoice_view(theirs["id"])
    with pytest.raises(NotFound):
        seller.search.get_invoice_view("inv_does_not_exist")


def test_reconciliation_counts_only_invoices_the_actor_may_view(clients: Any, admin: Any,
                                                                world: World) -> None:
    # given a seller's contract with a payment, invoiced by a colleague
    dept = unique("dept")
    seller_id = unique("sales")
    seller = clients.as_user(roles=["sales"], sub=seller_id, department=dept)
    colleague = clients.as_user(roles=["sales"], sub=unique("sales"), department=dept)
    manager = clients.as_user(roles=["sales_manager"], sub=unique("mgr"), department=dept)
    customer = world.customer()
    contract = world.contract(customer["id"], owner_id=seller_id, department_id=dept)
    payment = world.payment(contract["id"], amount="30000.00")
    theirs = colleague.invoice.create_invoice(invoice_data(
        customer["id"], contract_id=contract["id"], payment_ids=[payment["id"]], amount="30000.00"))
    view_at(admin, theirs)
    settled(admin)

    # when the seller reconciles the contract, then the colleague's invoice is not there
    [row] = seller.search.reconciliation(contract_id=contract["id"])
    assert row["invoiced_amount"] == "0.00" and row["received_amount"] == "30000.00"
    assert row["payments"][0]["invoice_ids"] == []
    # while their manager sees it
    [full] = manager.search.reconciliation(contract_id=contract["id"])
    assert full["invoiced_amount"] == "30000.00" and full["payments"][0]["invoice_ids"] == [theirs["id"]]


@pytest.mark.parametrize(("query", "offending"), [
    ({"filters": [{"field": "$where", "op": "eq", "value": "1"}]}, "query.filters.0.field"),
    ({"filters": [{"field": "title", "op": "$where", "value": "sleep(1000)"}]}, "query.filters.0.op"),
    ({"filters": [{"field": "title", "op": "eq", "value": {"$gt": ""}}]}, "query.filters.0.value"),
    ({"filters": [{"field": "amount", "op": "gt", "value": "lots"}]}, "query.filters.0.value"),
    ({"filters": [{"field": "title", "op": "eq", "value": "x", "$function": {}}]}, "query.filters.0.$function"),
    ({"$where": "true"}, "query.$where"),
    ({"filters": {"title": "x"}}, "query.filters"),
    ({"match": "$or"}, "query.match"),
    ({"limit": 501}, "query.limit"),
    ({"limit": "10"}, "query.limit"),
    ({"text": {"$regex": ".*"}}, "query.text"),
    ({"sort": [{"field": "$natural", "dir": "asc"}]}, "query.sort.0.field"),
    ({"sort": [{"field": "amount", "dir": -1}]}, "query.sort.0.dir"),
    ({"cursor": "bm90IGEgY3Vyc29y"}, "query.cursor"),
    ({"include_void": "yes"}, "query.include_void"),
])
def test_injection_attempts_and_wrong_types_are_validation_errors_naming_the_part(
        admin: Any, query: dict[str, Any], offending: str) -> None:
    with pytest.raises(ValidationError) as caught:
        admin.search.search(query)
    flat = _flatten(caught.value.args[0])
    assert any(key == offending or key.startswith(offending + ".") for key in flat), flat


def test_other_calls_reject_bad_arguments(admin: Any) -> None:
    cases = [
        (lambda: admin.search.stats(None, ["$type"]), "group_by.0"),
        (lambda: admin.search.stats(None, "type"), "group_by"),
        (lambda: admin.search.calendar("2026", 1), "year"),
        (lambda: admin.search.calendar(2026, 13), "month"),
        (lambda: admin.search.uninvoiced_payments({"filters": [{"field": "title", "op": "eq", "value": "x"}]}),
         "query.filters.0.field"),
        (lambda: admin.search.customer_invoices({"$ne": None}), "customer_id"),
        (lambda: admin.search.reconciliation(customer_id={"$gt": ""}), "customer_id"),
    ]
    for call, offending in cases:
        with pytest.raises(ValidationError) as caught:
            call()
        flat = _flatten(caught.value.args[0])
        assert any(key == offending or key.startswith(offending + ".") for key in flat), (offending, flat)


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if not isinstance(messages, dict):
        return [prefix]
    keys: list[str] = []
    for key, value in messages.items():
        keys += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return keys


def test_a_relabelled_invoice_type_shows_on_its_invoices_and_its_events_can_be_fetched(
        admin: Any, world: World) -> None:
    key = f"t{unique('')[1:7]}"
    admin.invoice.create_invoice_type({"key": key, "label": "凭证", "color": "#AA66CC"})
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"], type=key))
    view_at(admin, invoice)

    admin.invoice.update_invoice_type(key, {"label": "记账凭证", "color": "#112233"})

    events = admin.invoice.get_events(f"invoice_type-{key}")
    assert [e["type"] for e in events] == ["InvoiceTypeCreated", "InvoiceTypeUpdated"]
    assert admin.invoice.get_events(f"invoice_type-{key}", 1)[0]["version"] == 2
    wait_for(lambda: admin.search.get_invoice_view(invoice["id"])["type_label"] == "记账凭证",
             message="the new type label on the view")
    view = admin.search.get_invoice_view(invoice["id"])
    assert view["type_color"] == "#112233"
    assert admin.search.search({"text": "记账凭证", "filters": [
        {"field": "id", "op": "eq", "value": invoice["id"]}]})["total"] == 1
