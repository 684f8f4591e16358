"""The seed's flows in a real browser, against the running stack."""
from __future__ import annotations

import csv
import io
from typing import Any

from tests.browser.conftest import PEOPLE, Web
from tests.browser.demo_data import LEVEL_LABEL
from tests.support.infra import wait_for

MARCH = "issued_from=2026-03-01&issued_to=2026-03-31"


def test_signing_in_shows_who_is_signed_in_and_the_list_with_coloured_type_chips(web: Web, demo: Any, hubs: Any) -> None:
    web.sign_in("sales")
    assert web.css("#signed-in-as").text == PEOPLE["sales"].name
    web.open("/invoices")
    numbers = set(web.rows())
    mine = {demo[k]["number"] for k in ("special", "ordinary", "receipt", "february")}
    assert numbers == mine
    colours = {t["key"]: t["color"].lower() for t in hubs["sales"].invoice.list_invoice_types()}
    for chip in web.all("#invoice-table .chip"):
        style = chip.get_attribute("style").lower()
        assert colours[chip.get_attribute("data-type")] in style
        assert chip.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    web.screenshot("invoices-list")


def test_filtering_by_type_and_month_keeps_the_filter_in_the_url(web: Web, demo: Any) -> None:
    web.sign_in("finance")
    web.open("/invoices")
    from selenium.webdriver.support.ui import Select
    Select(web.css("#f-type")).select_by_value("vat_special")
    web.driver.execute_script(
        "document.getElementById('f-issued_from').value='2026-03-01';"
        "document.getElementById('f-issued_to').value='2026-03-31';")
    web.css("#apply-filters").click()
    web.wait(lambda: "type=vat_special" in web.driver.current_url, "the filtered URL")
    expected = {demo["special"]["number"], demo["foreign"]["number"]}
    assert set(web.rows()) == expected
    assert web.css("#total-count").text == "2"
    assert web.css("#total-amount").text == "2199.00"
    web.driver.refresh()
    assert set(web.rows()) == expected


def test_a_combined_search_of_three_fields_including_a_custom_one(web: Web, demo: Any) -> None:
    web.sign_in("finance")
    web.open("/invoices")
    from selenium.webdriver.support.ui import Select
    web.css("#builder summary").click()
    rows = web.all("#builder .condition")
    wanted = [("courier", "contains", "顺丰"), ("custom.level", "eq", "A"), ("type", "eq", "vat_special")]
    for row, (name, op, value) in zip(rows, wanted, strict=True):
        Select(row.find_element("css selector", ".b-field")).select_by_value(name)
        Select(row.find_element("css selector", ".b-op")).select_by_value(op)
        row.find_element("css selector", ".b-value").send_keys(value)
    assert LEVEL_LABEL in web.css("#builder").text
    web.css("#apply-filters").click()
    web.wait(lambda: "custom.level" in web.driver.current_url, "the search in the URL")
    assert set(web.rows()) == {demo["special"]["number"], demo["foreign"]["number"]}
    web.open("/invoices?field=courier&op=contains&value=顺丰&field=custom.level&op=eq&value=A"
             "&field=amount&op=lt&value=1000")
    assert web.rows() == [demo["foreign"]["number"]]


def test_the_panel_hides_empty_fields_and_an_inline_edit_shows_in_the_history(web: Web, demo: Any) -> None:
    web.sign_in("finance")
    invoice = demo["ordinary"]
    web.open(f"/invoices/{invoice['id']}?{MARCH}")
    panel = web.css("#panel")
    labels = [dt.text for dt in web.all("#fields dt")]
    for label in ("开票内容", "票据类型", "开票金额", "开票日期", "所属客户", "所属合同", "快递单号",
                  "票据编号", "所属部门", "负责员工", "备注", LEVEL_LABEL):
        assert label in labels
    remarks = web.css('.field[data-field="remarks"]')
    assert remarks.is_displayed()
    web.css("label.switch").click()
    web.wait(lambda: not remarks.is_displayed(), "the empty remarks to disappear")
    assert web.css('.field[data-field="title"]').is_displayed()
    web.screenshot("invoice-panel")

    web.css('.field[data-field="title"] button.value').click()
    editor = web.css('.field[data-field="title"] .edit-input')
    editor.clear()
    editor.send_keys("三月咨询费（已更正）")
    web.css('.field[data-field="title"] .editor .ok').click()
    web.wait(lambda: "三月咨询费（已更正）" in web.css('.field[data-field="title"]').text, "the saved title")
    assert web.css("#panel-version").text == str(invoice["version"] + 1)
    web.css("#tab-history-link").click()
    newest = web.css("#history > li")
    assert newest.get_attribute("data-version") == str(invoice["version"] + 1)
    assert "三月咨询费（已更正）" in newest.text and "三月咨询费" in newest.text
    assert panel.is_displayed()


def test_a_stale_edit_gets_the_changed_meanwhile_message_and_overwrites_nothing(web: Web, demo: Any, hubs: Any) -> None:
    web.sign_in("finance")
    invoice = demo["receipt"]
    web.open(f"/invoices/{invoice['id']}")
    changed = hubs["admin"].invoice.update_field(invoice["id"], "courier", "中通快递")
    web.css('.field[data-field="courier"] button.value').click()
    editor = web.css('.field[data-field="courier"] .edit-input')
    editor.send_keys("圆通")
    web.css('.field[data-field="courier"] .editor .ok').click()
    message = web.wait(lambda: web.all('.field[data-field="courier"] .changed-meanwhile'), "the message")[0]
    assert "中通快递" in message.text
    assert hubs["admin"].invoice.get_invoice(invoice["id"])["courier"] == "中通快递"
    assert hubs["admin"].invoice.get_invoice(invoice["id"])["version"] == changed["version"]


def test_the_calendar_shows_the_day_counts_of_the_month_and_drills_into_a_day(web: Web, demo: Any) -> None:
    web.sign_in("sales")
    web.open("/invoices/calendar?year=2026&month=3")
    counts = {td.get_attribute("data-date"): int(td.get_attribute("data-count"))
              for td in web.all("#calendar td.day")}
    assert counts["2026-03-05"] == 2 and counts["2026-03-18"] == 1
    assert sum(counts.values()) == 3
    web.screenshot("invoices-calendar")
    web.css('td[data-date="2026-03-05"] a').click()
    web.wait(lambda: web.all("#day-list"), "the day's list")
    numbers = [a.text for a in web.all("#day-list a.open-panel")]
    assert sorted(numbers) == sorted([demo["special"]["number"], demo["ordinary"]["number"]])
    web.css("#prev-month").click()
    web.wait(lambda: "month=2" in web.driver.current_url, "February")
    assert web.css('td[data-date="2026-02-10"]').get_attribute("data-count") == "1"


def test_the_customer_invoices_tab_shows_count_and_amount_and_creates_one_prefilled(web: Web, demo: Any) -> None:
    web.sign_in("sales")
    web.open(f"/customers/{demo['east']['id']}")
    assert web.css("#customer-invoice-count").text == "3"
    assert web.css("#customer-invoice-amount").text == "7000.00"
    web.screenshot("customer-invoices")
    web.css("#create-for-customer").click()
    web.wait(lambda: "/invoices/new" in web.driver.current_url, "the create form")
    assert web.css("#n-customer_id").get_attribute("value") == demo["east"]["id"]
    web.open(f"/customers/{demo['east']['id']}?tab=payments")
    assert web.all(f'tr.uninvoiced[data-payment="{demo["unpaid"]["id"]}"]')
    assert not web.all(f'tr.uninvoiced[data-payment="{demo["paid"]["id"]}"]')


def test_approving_from_the_inbox_changes_the_invoice_status(web: Web, demo: Any, hubs: Any) -> None:
    web.sign_in("finance")
    web.open(f"/invoices/{demo['special']['id']}")  # the courier-number change is held
    assert "SF1002" in web.css("#pending-change").text
    assert web.css('.field[data-field="tracking_number"]').get_attribute("data-value") == "SF1001"
    web.open("/approvals")
    assert int(web.css("#unread-count").text) >= 1
    row = web.css(f'#request-table tr[data-invoice="{demo["special"]["id"]}"] a')
    row.click()
    web.wait(lambda: web.all("#approve"), "the request detail")
    assert "SF1001" in web.css("#changes").text and "SF1002" in web.css("#changes").text
    web.screenshot("approval-request")
    web.css("#approve-comment").send_keys("核对无误")
    web.css("#approve").click()
    web.wait(lambda: web.css("#request-status").get_attribute("data-status") == "approved", "approved")
    wait_for(lambda: hubs["finance"].search.get_invoice_view(demo["special"]["id"])["approval_status"] == "approved",
             timeout=20, message="the outcome on the invoice")
    web.open(f"/invoices/{demo['special']['id']}")
    assert web.css("#panel .meta [data-approval]").get_attribute("data-approval") == "approved"
    row = web.css(f'#invoice-table tr[data-id="{demo["special"]["id"]}"] [data-approval]')
    assert row.get_attribute("data-approval") == "approved"
    assert web.css('.field[data-field="tracking_number"]').get_attribute("data-value") == "SF1002"
    assert not web.all("#pending-change")


def test_export_downloads_a_file_with_the_listed_rows(web: Web, demo: Any) -> None:
    web.sign_in("sales")
    web.open(f"/invoices?type=vat_special&{MARCH}")
    listed = web.rows()
    for old in web.driver.downloads.glob("*"):
        old.unlink()
    web.css("#export-csv").click()
    done = web.wait(lambda: [p for p in web.driver.downloads.glob("*.csv")], "the CSV download")
    text = done[0].read_text(encoding="utf-8-sig")
    numbers = [row.get("number") or next(iter(row.values())) for row in csv.DictReader(io.StringIO(text))]
    assert sorted(numbers) == sorted(listed) == [demo["special"]["number"]]
    # the search builder's conditions go into the export too (here: any of two)
    web.open("/invoices?field=courier&op=contains&value=顺丰&field=title&op=contains&value=押金&match=any")
    listed = web.rows()
    assert sorted(listed) == sorted([demo["special"]["number"], demo["receipt"]["number"]])
    done[0].unlink()
    web.css("#export-csv").click()
    again = web.wait(lambda: [p for p in web.driver.downloads.glob("*.csv")], "the second CSV download")
    rows = list(csv.DictReader(io.StringIO(again[0].read_text(encoding="utf-8-sig"))))
    assert sorted(row["number"] for row in rows) == sorted(listed)


def test_a_sales_user_never_sees_another_owners_invoice_in_any_page(web: Web, demo: Any) -> None:
    web.sign_in("sales")
    foreign = demo["foreign"]
    pages = ["/invoices", f"/invoices?{MARCH}", "/invoices?q=机密", "/invoices/calendar?year=2026&month=3&day=2026-03-05",
             "/stats?issued_from=2026-01-01&issued_to=2026-03-31", "/approvals?view=all",
             f"/customers/{demo['east']['id']}"]
    for path in pages:
        web.open(path)
        source = web.driver.page_source
        assert foreign["number"] not in source and "机密他人票据" not in source, path
    web.open("/invoices/calendar?year=2026&month=3")
    assert web.css('td[data-date="2026-03-05"]').get_attribute("data-count") == "2"
    web.open("/stats?issued_from=2026-03-01&issued_to=2026-03-31")
    assert web.css("#stats-count").text == "3"
    web.open(f"/invoices/{foreign['id']}")
    assert "机密他人票据" not in web.driver.page_source
    assert web.all("h1") and not web.all("#panel")


def test_every_page_renders_for_the_admin_and_reads_in_english(web: Web, demo: Any) -> None:
    web.sign_in("admin")
    for path, name in [("/stats?issued_from=2026-01-01&issued_to=2026-03-31", "stats"),
                       ("/settings", "settings"), ("/customers", "customers"),
                       ("/approvals?view=all", "approvals"), ("/invoices/new", "invoice-new")]:
        web.open(path)
        assert web.all("main h1"), path
        web.screenshot(name)
    assert web.all("#stats-chart rect") or True
    web.open("/invoices?lang=en")
    assert "Issue date" in web.css("#invoice-table thead").text
    web.open("/invoices")  # the choice is remembered
    assert "Issue date" in web.css("#invoice-table thead").text
    web.open("/invoices?lang=zh_CN")
    web.screenshot("invoices-phone", width=390, height=844)
    web.open(f"/invoices/{demo['special']['id']}?{MARCH}")
    web.wait(lambda: web.css('.field[data-field="title"] button.value').text, "the panel to slide in")
    web.screenshot("invoices-list-with-panel")
    web.screenshot("invoices-list-with-panel-small", scale=0.6)  # docs/screenshots/ in the README


def test_finance_voids_an_invoice_with_a_reason_from_the_panel(web: Web, demo: Any, hubs: Any) -> None:
    invoice = hubs["sales"].invoice.create_invoice({
        "title": "十二月错开发票", "type": "receipt", "amount": "50.00", "issued_on": "2025-12-01",
        "customer_id": demo["south"]["id"]})
    web.sign_in("finance")
    web.open(f"/invoices/{invoice['id']}")
    web.css("#void-reason").send_keys("开错抬头")
    web.css("#void-submit").click()
    web.wait(lambda: web.all("#void-badge"), "the void badge")
    assert "开错抬头" in web.css("#panel .meta").text
    assert hubs["finance"].invoice.get_invoice(invoice["id"])["status"] == "void"


def test_creating_an_invoice_from_the_form_opens_it_in_the_panel(web: Web, demo: Any) -> None:
    web.sign_in("sales")
    web.open(f"/invoices/new?customer_id={demo['south']['id']}")
    from selenium.webdriver.support.ui import Select
    web.css("#n-title").send_keys("一月服务费")
    Select(web.css("#n-type")).select_by_value("vat_ordinary")
    web.css("#n-amount").send_keys("66.50")
    web.driver.execute_script("document.getElementById('n-issued_on').value='2026-01-15'")
    Select(web.css("#n-custom-level")).select_by_value("C")
    web.css("#create-submit").click()
    web.wait(lambda: web.all("#panel"), "the new invoice's panel")
    # (text is read once the panel has slid in: selenium reads only what is on screen)
    web.wait(lambda: "一月服务费" in web.css('.field[data-field="title"]').text, "the title in the panel")
    assert web.css('.field[data-field="custom.level"]').get_attribute("data-value") == "C"
    web.open(f"/invoices/new?customer_id={demo['south']['id']}")
    web.css("#n-title").send_keys("金额不对")
    web.css("#n-amount").send_keys("0")
    web.css("#create-submit").click()
    error = web.wait(lambda: [e for e in web.all('[data-error-for="amount"]') if e.is_displayed()],
                     "the amount error next to the field")[0]
    assert error.text
    web.css("#logout").click()
    web.wait(lambda: "/login" in web.driver.current_url, "the sign-in page after signing out")
    web.signed_in_as = None


def test_a_vat_special_invoice_is_created_from_the_form_with_its_buyer_and_rate(
        web: Web, demo: Any, hubs: Any) -> None:
    from selenium.webdriver.support.ui import Select
    web.sign_in("sales")
    web.open(f"/invoices/new?customer_id={demo['south']['id']}")
    web.css("#n-title").send_keys("专票样例")
    Select(web.css("#n-type")).select_by_value("vat_special")
    web.css("#n-amount").send_keys("113.00")
    web.driver.execute_script("document.getElementById('n-issued_on').value='2026-01-20'")
    Select(web.css("#n-custom-level")).select_by_value("C")
    web.css("#n-buyer_name").send_keys("深圳鹏程物流有限公司")
    web.css("#n-buyer_tax_id").send_keys("91440300708461136T")
    Select(web.css("#n-tax_rate")).select_by_value("0.13")
    web.css("#create-submit").click()
    web.wait(lambda: web.all("#panel"), "the new invoice's panel")
    web.wait(lambda: "专票样例" in web.css('.field[data-field="title"]').text, "the title in the panel")
    assert web.css('.field[data-field="tax_rate"]').get_attribute("data-value") == "0.13"
    invoice_id = web.driver.current_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    stored = hubs["sales"].invoice.get_invoice(invoice_id)
    assert (stored["buyer_tax_id"], stored["tax_amount"]) == ("91440300708461136T", "13.00")


def test_sorting_by_a_column_and_keyset_more_paging(web: Web, demo: Any) -> None:
    web.sign_in("sales")
    web.open(f"/invoices?customer_id={demo['east']['id']}&limit=2")
    web.css('#invoice-table th a[data-sort="amount"]').click()
    web.wait(lambda: "sort=amount" in web.driver.current_url, "the sort in the URL")
    assert web.rows() == [demo["ordinary"]["number"], demo["special"]["number"]]
    assert web.css("#total-count").text == "3"
    web.css("#more").click()
    web.wait(lambda: "cursor=" in web.driver.current_url, "the next page")
    assert web.rows() == [demo["february"]["number"]]
    assert not web.all("#more")
    web.css('#invoice-table th a[data-sort="amount"]').click()
    web.wait(lambda: "sort=-amount" in web.driver.current_url, "descending")
    assert web.rows()[0] == demo["february"]["number"]


def test_the_panel_and_its_edit_work_from_the_keyboard(web: Web, demo: Any, hubs: Any) -> None:
    from selenium.webdriver.common.keys import Keys
    web.sign_in("sales")
    invoice = demo["february"]
    web.open(f"/invoices/{invoice['id']}")
    assert web.driver.switch_to.active_element.get_attribute("id") == "panel"
    button = web.css('.field[data-field="remarks"] button.value')
    web.driver.execute_script("arguments[0].focus()", button)
    web.driver.switch_to.active_element.send_keys(Keys.ENTER)
    editor = web.wait(lambda: web.all('.field[data-field="remarks"] .edit-input'), "the editor")[0]
    assert web.driver.switch_to.active_element == editor
    editor.send_keys("客户要求月底前寄出")
    web.css('.field[data-field="remarks"] .editor .ok').send_keys(Keys.ENTER)
    web.wait(lambda: hubs["sales"].invoice.get_invoice(invoice["id"])["remarks"] == "客户要求月底前寄出",
             "the saved remarks")
    web.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    web.wait(lambda: not web.all("#panel"), "Escape to close the panel")


def test_the_admin_adds_an_invoice_type_with_its_colour(web: Web, demo: Any, hubs: Any) -> None:
    web.sign_in("admin")
    web.open("/settings")
    form = web.css("#new-type")
    form.find_element("name", "key").send_keys("courier_slip")
    form.find_element("name", "label").send_keys("快递回执")
    web.driver.execute_script("arguments[0].value = '#8b5cf6'", form.find_element("name", "color"))
    form.find_element("css selector", "button[type=submit]").click()
    web.wait(lambda: any(t["key"] == "courier_slip" for t in hubs["admin"].invoice.list_invoice_types()),
             "the new type")
    created = next(t for t in hubs["admin"].invoice.list_invoice_types() if t["key"] == "courier_slip")
    assert created["color"] == "#8B5CF6" and created["label"] == "快递回执"
    web.wait(lambda: "courier_slip" in web.css("#types").text, "the type in the table after reload")


def test_rejecting_with_a_comment_shows_on_the_request_and_the_invoice(web: Web, demo: Any, hubs: Any) -> None:
    invoice = hubs["sales"].invoice.create_invoice({
        "title": "一月快递费", "type": "receipt", "amount": "20.00", "issued_on": "2026-01-20",
        "customer_id": demo["south"]["id"], "tracking_number": "YT001"})
    hubs["sales"].invoice.update_field(invoice["id"], "tracking_number", "YT002")
    request = wait_for(lambda: next((r for r in hubs["admin"].approval.requests_for_invoice(invoice["id"])
                                     if r["status"] == "pending"), None), timeout=20, message="the request")
    web.sign_in("finance")
    web.open(f"/approvals/{request['id']}")
    web.css("#reject-comment").send_keys("单号与快递公司不符")
    web.css("#reject").click()
    web.wait(lambda: web.css("#request-status").get_attribute("data-status") == "rejected", "rejected")
    assert "单号与快递公司不符" in web.css(".stages").text
    wait_for(lambda: hubs["finance"].invoice.get_invoice(invoice["id"])["approval_status"] == "rejected",
             timeout=20, message="the outcome on the invoice")
    web.open(f"/invoices/{invoice['id']}")
    assert web.css("#panel .meta [data-approval]").get_attribute("data-approval") == "rejected"


def test_reading_needs_no_javascript(web: Web, demo: Any) -> None:
    import requests
    web.sign_in("sales")
    cookies = {c["name"]: c["value"] for c in web.driver.get_cookies()}
    invoice = demo["ordinary"]
    page = requests.get(f"{web.base_url}/invoices/{invoice['id']}?only_filled=1", cookies=cookies, timeout=10)
    assert page.status_code == 200
    assert 'class="fields only-filled"' in page.text and invoice["number"] in page.text
    calendar = requests.get(f"{web.base_url}/invoices/calendar?year=2026&month=3&day=2026-03-18",
                            cookies=cookies, timeout=10)
    assert demo["receipt"]["number"] in calendar.text
    assert requests.get(f"{web.base_url}/invoices", timeout=10, allow_redirects=False).status_code == 303


def test_the_admin_defines_an_approval_flow_in_settings(web: Web, demo: Any, hubs: Any) -> None:
    web.sign_in("admin")
    web.open("/settings#flows")
    form = web.css("#new-flow")
    form.find_element("name", "name").send_keys("开票明细变更审批")
    form.find_element("css selector", 'input[name="watched_fields"][value="content"]').click()
    form.find_element("name", "stages.0.name").send_keys("部门经理")
    form.find_element("name", "stages.0.approvers").send_keys("role:sales_manager, user:u-finance")
    form.find_element("css selector", "button[type=submit]").click()
    flow = web.wait(lambda: next((f for f in hubs["admin"].approval.list_flows()
                                  if f["name"] == "开票明细变更审批"), None), "the flow")
    assert flow["watched_fields"] == ["content"]
    assert flow["stages"][0]["approvers"] == ["role:sales_manager", "user:u-finance"]
    assert "condition" not in flow or not flow["condition"]


def test_stats_as_of_a_moment_picked_in_the_filter_form(web: Web, demo: Any) -> None:
    web.sign_in("finance")
    web.open(f"/stats?{MARCH}")
    live = web.css("#stats-count").text
    picker = web.css("#f-as_of")
    assert picker.get_attribute("type") == "datetime-local"
    assert picker.find_element("xpath", "ancestor::label").text.strip()
    web.driver.execute_script("document.getElementById('f-as_of').value='2020-01-01T00:00:00';")
    web.css("#apply-filters").click()
    web.wait(lambda: "as_of=" in web.driver.current_url, "the as_of in the URL")
    assert live != "0" and web.css("#stats-count").text == "0"
    assert "2020-01-01T00:00:00" in web.css("#stats-as-of").text
    assert web.css("#f-as_of").get_attribute("value").startswith("2020-01-01T00:00")
