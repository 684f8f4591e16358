"""The pages' pure parts: catalogs, language choice, URL ↔ search query, and rendering
with a hand-written stand-in for the gateway's RPC helper."""
from __future__ import annotations

import re
from typing import Any

from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web import i18n
from gateway.web.page import TEMPLATES, Page, Session
from gateway.web.pages import invoices
from gateway.web.query import ListQuery
from shared.auth import Actor

# ids built in templates from a prefix and a value (``_("field." ~ col)``)
DYNAMIC_IDS = {
    "field.": ["number", "title", "content", "type", "amount", "issued_on", "customer_id",
               "customer_name", "contract_id", "contract_number", "tracking_number", "courier",
               "invoice_no", "department_id", "owner_id", "remarks", "approval_status", "status",
               "version"],
    "op.": ["eq", "ne", "contains", "prefix", "gt", "gte", "lt", "lte", "exists"],
    "approval_status.": ["none", "pending", "approved", "rejected"],
    "request.status.": ["pending", "approved", "rejected", "withdrawn", "superseded", "returned",
                        "cancelled"],
    "event.": ["InvoiceCreated", "InvoiceFieldsChanged", "InvoiceVoided", "InvoiceApprovalStatusChanged",
               "InvoiceChangeProposed", "InvoiceChangeApplied", "InvoiceChangeDiscarded",
               "InvoiceAttachmentAdded", "InvoiceAttachmentRemoved"],
    "kind.": ["text", "number", "money", "date", "select", "bool"],
    "weekday.": [str(d) for d in range(7)],
    "customer.tab.": ["invoices", "contracts", "payments", "profile"],
    "approvals.view.": ["inbox", "mine", "all", "notifications"],
    "notification.": ["approval_needed", "request_approved", "request_rejected"],
    "decision.": ["approved", "rejected", "delegated"],
    "stage.mode.": ["any", "all"],
    "error.title_": ["403", "404"], "error.text_": ["403", "404"],
}
STATIC_ID = re.compile(r"""_\(\s*["']([a-z][A-Za-z0-9_.]*)["']\s*\)""")


def catalog_ids(locale: str) -> dict[str, str]:
    with open(i18n.catalog_path(locale), "rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


def test_every_message_id_the_pages_use_is_translated_in_both_catalogs() -> None:
    used = set()
    for path in [*TEMPLATES.glob("*.html"), *TEMPLATES.parent.glob("pages/*.py")]:
        used |= set(STATIC_ID.findall(path.read_text(encoding="utf-8")))
    used |= {prefix + value for prefix, values in DYNAMIC_IDS.items() for value in values}
    for locale in i18n.LOCALES:
        translated = {k for k, v in catalog_ids(locale).items() if v}
        assert used - translated == set(), locale


def test_templates_hold_no_chinese_text() -> None:
    for path in TEMPLATES.glob("*.html"):
        assert not re.search(r"[\u4e00-\u9fff]", path.read_text(encoding="utf-8")), path.name


def test_language_is_the_query_then_the_cookie_then_the_browser_else_chinese() -> None:
    assert i18n.negotiate(None, None, None) == "zh_CN"
    assert i18n.negotiate("en", "zh_CN", "zh-CN") == "en"
    assert i18n.negotiate(None, "en", "zh-CN") == "en"
    assert i18n.negotiate(None, None, "fr-FR,en-US;q=0.8,zh;q=0.5") == "en"
    assert i18n.negotiate(None, None, "de, zh-TW;q=0.9") == "zh_CN"
    assert i18n.negotiate("xx", None, "en") == "en"


def test_list_parameters_have_the_api_names_and_become_one_search_query() -> None:
    args = MultiDict([("q", "SF123"), ("type", "vat_special"), ("issued_from", "2026-03-01"),
                      ("issued_to", "2026-03-31"), ("field", "courier"), ("op", "contains"),
                      ("value", "顺丰"), ("field", "custom.level"), ("op", "eq"), ("value", "A"),
                      ("field", ""), ("op", "eq"), ("value", ""), ("sort", "-amount")])
    query = ListQuery.from_args(args)
    search = query.search_query()
    assert search["text"] == "SF123"
    assert {"field": "type", "op": "eq", "value": "vat_special"} in search["filters"]
    assert {"field": "issued_on", "op": "gte", "value": "2026-03-01"} in search["filters"]
    assert {"field": "custom.level", "op": "eq", "value": "A"} in search["filters"]
    assert len(search["filters"]) == 5 and search.get("match", "all") == "all"
    assert search["sort"] == [{"field": "amount", "dir": "desc"}]
    again = ListQuery.from_args(MultiDict(query.url_args()))
    assert again.search_query() == search


def test_any_match_applies_to_the_builder_conditions_only() -> None:
    args = MultiDict([("type", "receipt"), ("field", "courier"), ("op", "eq"), ("value", "EMS"),
                      ("field", "title"), ("op", "contains"), ("value", "x"), ("match", "any")])
    query = ListQuery.from_args(args)
    assert query.search_query()["match"] == "any"
    assert [f["field"] for f in query.search_query()["filters"]] == ["courier", "title"]
    assert query.any_drops_fixed()


class FakeHub:
    """Stands in for the gateway's RPC helper: ``hub.<service>.<method>(...)``."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, service: str) -> Any:
        hub = self

        class Service:
            def __getattr__(self, method: str) -> Any:
                def call(*args: Any, **kwargs: Any) -> Any:
                    hub.calls.append((f"{service}.{method}", args, kwargs))
                    answer = hub.answers[f"{service}.{method}"]
                    return answer(*args, **kwargs) if callable(answer) else answer
                return call
        return Service()


def an_invoice(**overrides: Any) -> dict[str, Any]:
    invoice = {"id": "inv_1", "number": "INV-2026-000001", "title": "三月服务费", "content": None,
               "type": "vat_special", "amount": "1200.00", "issued_on": "2026-03-05",
               "customer_id": "cus_1", "contract_id": None, "payment_ids": [], "invoice_no": "",
               "tracking_number": "SF1234567", "courier": "顺丰", "owner_id": "sales-1",
               "department_id": "dept-1", "remarks": None, "custom": {"level": "A"},
               "status": "active", "approval_status": "pending", "version": 3,
               "customer_name": "上海测试客户", "contract_number": None}
    invoice.update(overrides)
    return invoice


def hub_with(invoice: dict[str, Any]) -> FakeHub:
    return FakeHub({
        "search.search": {"items": [invoice], "total": 1, "next_cursor": "c2"},
        "search.stats": {"rows": [], "total": {"count": 1, "amount": "1200.00"}},
        "invoice.list_invoice_types": [{"key": "vat_special", "label": "增值税专用发票",
                                        "color": "#D97706", "active": True, "version": 1}],
        "invoice.list_custom_fields": [{"key": "level", "label": "客户等级", "kind": "select",
                                        "options": ["A", "B"], "required": False, "active": True}],
        "customer.list_customers": {"items": [{"id": "cus_1", "name": "上海测试客户"}], "next_cursor": None},
        "customer.list_contracts": [],
        "invoice.get_invoice": invoice,
        "invoice.get_history": [{"version": 1, "event_type": "InvoiceCreated",
                                 "occurred_at": "2026-03-05T01:02:03.000Z",
                                 "actor": {"id": "sales-1", "name": "销售"}, "changes": {}}],
        "approval.requests_for_invoice": [],
        "approval.notifications": [{"id": "n1"}],
    })


def page_for(url: str, hub: FakeHub, roles: tuple[str, ...] = ("finance",), **headers: str) -> Page:
    request = Request(EnvironBuilder(path=url.split("?")[0], query_string=url.partition("?")[2],
                                     headers=headers).get_environ())
    return Page(request, Session(actor=Actor("fin-1", "财务", "dept-9", roles), csrf_token="tok", rpc=hub))


def test_the_list_shows_the_type_as_a_chip_in_its_colour_and_keeps_the_filters_in_links() -> None:
    hub = hub_with(an_invoice())
    html = invoices.invoice_list(page_for("/invoices?type=vat_special&q=SF12", hub)).get_data(as_text=True)
    assert 'style="--chip: #D97706"' in html and "增值税专用发票" in html
    assert 'href="/invoices?q=SF12&amp;type=vat_special&amp;cursor=c2"' in html
    assert "/api/invoices/export.csv?q=SF12&amp;type=vat_special" in html
    search = next(c for c in hub.calls if c[0] == "search.search")
    assert search[1][0]["filters"] == [{"field": "type", "op": "eq", "value": "vat_special"}]
    assert '<meta name="csrf-token" content="tok">' in html


def test_the_panel_labels_every_field_as_the_seed_does_and_marks_the_empty_ones() -> None:
    hub = hub_with(an_invoice())
    html = invoices.invoice_list(page_for("/invoices/inv_1", hub), "inv_1").get_data(as_text=True)
    for label in ("开票内容", "票据类型", "开票金额", "开票日期", "所属客户", "所属合同", "快递单号",
                  "票据编号", "所属部门", "负责员工", "备注", "客户等级", "仅显示已填信息"):
        assert label in html, label
    assert re.search(r'class="field empty" data-field="remarks"', html)
    assert re.search(r'class="field " data-field="tracking_number"', html)
    assert 'data-version="3"' in html


def test_english_pages_come_from_the_english_catalog() -> None:
    html = invoices.invoice_list(page_for("/invoices?lang=en", hub_with(an_invoice()))).get_data(as_text=True)
    assert "Issue date" in html and "开票日期" not in html


def test_the_stats_period_lists_every_month_it_touches() -> None:
    from gateway.web.pages.stats import months_between
    assert months_between("2025-11-15", "2026-02-01") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-13-01", "2026-02-01") == []


def test_a_malformed_list_parameter_is_a_validation_error_naming_it() -> None:
    import pytest

    from shared.errors import ValidationError
    with pytest.raises(ValidationError) as caught:
        ListQuery.from_args(MultiDict([("issued_from", "2026-02-30")])).search_query()
    assert "query.issued_from" in caught.value.messages


def test_the_api_list_parameters_take_the_search_builder() -> None:
    from gateway.schemas import InvoiceListQuery, search_query
    args = InvoiceListQuery().load({"type": "receipt", "field": ["courier", "title", ""],
                                    "op": ["eq", "exists", "eq"], "value": ["EMS", "", ""]})
    assert search_query(args)["filters"] == [
        {"field": "type", "op": "eq", "value": "receipt"},
        {"field": "courier", "op": "eq", "value": "EMS"},
        {"field": "title", "op": "exists", "value": True}]


def test_the_export_links_carry_every_builder_condition() -> None:
    hub = hub_with(an_invoice())
    url = "/invoices?field=courier&op=eq&value=EMS&field=title&op=contains&value=x&match=any"
    html = invoices.invoice_list(page_for(url, hub)).get_data(as_text=True)
    assert ("/api/invoices/export.csv?field=courier&amp;op=eq&amp;value=EMS&amp;field=title"
            "&amp;op=contains&amp;value=x&amp;match=any") in html


def test_a_value_the_catalogs_do_not_know_shows_as_itself() -> None:
    from gateway.web.page import label
    assert label(i18n.translations("zh_CN"), "event.InvoiceVoided") == "作废"
    assert label(i18n.translations("en"), "event.SomethingNewer") == "SomethingNewer"


def test_the_panel_shows_a_change_waiting_for_approval() -> None:
    pending = {"request_id": "apr_1", "kind": "change", "watched_fields": ["tracking_number"],
               "changes": {"tracking_number": {"from": "SF1", "to": "SF2"}}}
    hub = hub_with(an_invoice(pending_change=pending))
    html = invoices.invoice_list(page_for("/invoices/inv_1", hub), "inv_1").get_data(as_text=True)
    assert 'id="pending-change"' in html and 'href="/approvals/apr_1"' in html
    assert "<del>SF1</del> → <ins>SF2</ins>" in html


def panel_rows(html: str) -> set[str]:
    return set(re.findall(r'data-field="([^"]+)"', html))


def test_the_panel_shows_every_field_of_the_invoice_catalogue() -> None:
    from gateway.web.pages.common import NOT_A_ROW
    from shared.invoice_events import INVOICE_FIELDS
    html = invoices.invoice_list(page_for("/invoices/inv_1", hub_with(an_invoice())),
                                 "inv_1").get_data(as_text=True)
    rows = panel_rows(html)
    assert set(INVOICE_FIELDS) - set(NOT_A_ROW) <= rows
    assert "custom.level" in rows  # the catalogue's ``custom``: one row per custom field


def test_a_field_added_to_the_catalogue_shows_on_the_panel_and_in_the_watchable_fields(
        monkeypatch: Any) -> None:
    from gateway.web.pages import settings
    from shared import invoice_events
    monkeypatch.setattr(invoice_events, "INVOICE_FIELDS", (*invoice_events.INVOICE_FIELDS, "po_number"))
    hub = hub_with(an_invoice(po_number="PO-7"))
    html = invoices.invoice_list(page_for("/invoices/inv_1", hub), "inv_1").get_data(as_text=True)
    assert "po_number" in panel_rows(html)
    hub.answers.update({"approval.list_flows": []})
    admin = page_for("/settings", hub, roles=("admin",))
    assert 'value="po_number"' in settings.settings_page(admin).get_data(as_text=True)


def test_a_field_added_to_the_catalogue_is_offered_by_the_search_builder(monkeypatch: Any) -> None:
    from shared import invoice_events
    monkeypatch.setattr(invoice_events, "INVOICE_FIELDS", (*invoice_events.INVOICE_FIELDS, "po_number"))

    html = invoices.invoice_list(page_for("/invoices", hub_with(an_invoice()))).get_data(as_text=True)

    assert '<option value="po_number"' in html
