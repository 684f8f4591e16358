"""The import page in a real browser: upload a file, read the dry run's table with the
bad row's field highlighted, commit, watch it finish (the stack's gateway runs files of
more than 2 rows as jobs, so the page follows a job, as a signed-in person's). (Named to run after
test_pages.py: the invoices it creates stay out of that file's counts.)"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.browser.conftest import Web
from tests.support.factories import unique


def import_file(path: Path, customer_name: str) -> Path:
    rows = [("erp-a", "浏览器导入 A", "120.00"), ("erp-b", "浏览器导入 B", "abc"),
            ("erp-c", "浏览器导入 C", "80.50")]
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "title", "type", "amount", "issued_on", "customer_name"])
        for external_id, title, amount in rows:
            writer.writerow([unique(external_id), title, "receipt", amount, "2024-12-05", customer_name])
    return path


def test_an_upload_shows_the_dry_run_with_the_bad_field_highlighted_then_commits(
        web: Web, hubs: Any, tmp_path: Path) -> None:
    customer = hubs["admin"].customer.create_customer({"name": unique("导入页客户"), "code": unique("C")})
    path = import_file(tmp_path / "导入.csv", customer["name"])
    web.sign_in("finance")
    web.open("/invoices")
    web.css("#import-link").click()
    web.wait(lambda: web.driver.current_url.endswith("/invoices/import"), "the import page")

    web.css("#import-file").send_keys(str(path))
    web.css("#import-check").click()
    web.wait(lambda: len(web.all("#import-rows tbody tr")) == 3, "the dry run's table")

    rows = web.all("#import-rows tbody tr")
    assert [r.get_attribute("class") for r in rows] == ["row-ok", "row-error", "row-ok"]
    bad = rows[1].find_element("css selector", 'td[data-field="amount"]')
    assert "cell-error" in bad.get_attribute("class") and bad.text == "abc"
    assert bad.get_attribute("title")            # the message, on the highlighted cell
    assert not rows[0].find_elements("css selector", "td.cell-error")
    assert web.css("#import-commit").is_enabled()
    assert not web.css("#import-more").is_displayed()       # every row is shown
    web.screenshot("import-dry-run")

    web.css("#import-commit").click()
    web.wait(lambda: [r.get_attribute("class") for r in web.all("#import-rows tbody tr")]
             == ["row-created", "row-error", "row-created"], "the committed rows")
    assert web.css("#import-progress").get_attribute("value") == "3"
    assert not web.css("#import-commit").is_enabled()
    web.wait(lambda: hubs["finance"].search.customer_invoices(customer["id"])["count"] == 2,
             "the two invoices in search")
