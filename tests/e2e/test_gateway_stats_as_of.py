"""``as_of`` on GET /api/stats and /api/calendar: the figures as they stood at a moment
(timestamp or position); a bad value → 422 naming ``as_of``."""
from __future__ import annotations

from typing import Any

from shared.dates import utc_now
from tests.e2e.search_support import settled
from tests.support.factories import customer_data, invoice_data
from tests.support.gateway import Api, problem


def test_stats_and_calendar_as_of_a_moment_over_http(api: Api, admin: Any) -> None:
    customer = api.post("/api/customers", json=customer_data()).json()
    mine = {"customer_id": customer["id"], "group_by": "type,month"}
    invoice = api.post("/api/invoices", json=invoice_data(customer["id"], amount="100.00",
                                                          issued_on="2026-02-05")).json()
    settled(admin)
    live = api.get("/api/stats", params=mine).json()
    live_days = api.get("/api/calendar/2026/2", params={"customer_id": customer["id"]}).json()
    moment = utc_now()

    api.patch(f"/api/invoices/{invoice['id']}", json={"amount": "999.00"})
    settled(admin)
    then = api.get("/api/stats", params={**mine, "as_of": moment})
    by_position = api.get("/api/stats", params={
        **mine, "as_of": str(then.json()["as_of"]["invoice_position"])})
    calendar = api.get("/api/calendar/2026/2", params={"customer_id": customer["id"], "as_of": moment})
    bad = api.get("/api/stats", params={"as_of": "yesterday"})
    bad_calendar = api.get("/api/calendar/2026/2", params={"as_of": "soon"})

    assert api.get("/api/stats", params=mine).json()["total"]["amount"] == "999.00"
    assert then.status_code == 200, then.text
    assert {k: then.json()[k] for k in ("rows", "total")} == live
    assert then.json()["as_of"]["timestamp"] == moment
    assert {k: by_position.json()[k] for k in ("rows", "total")} == live
    assert calendar.json()["days"] == live_days and calendar.json()["as_of"] == then.json()["as_of"]
    assert bad.status_code == 422 and "as_of" in problem(bad)["errors"]
    assert bad_calendar.status_code == 422 and "as_of" in problem(bad_calendar)["errors"]

    browser = Api(api.base_url)
    assert browser.login("admin").status_code == 303
    page = browser.get("/stats", params={"customer_id": customer["id"], "issued_from": "2026-02-01",
                                          "issued_to": "2026-02-28", "as_of": moment})
    plain = browser.get("/stats", params={"customer_id": customer["id"]})
    browser.close()

    assert page.status_code == 200
    assert 'name="as_of" id="f-as_of"' in page.text and f'value="{moment[:19]}"' in page.text
    position = then.json()["as_of"]["invoice_position"]
    note = page.text.split('id="stats-as-of">', 1)[1].split("</p>", 1)[0]
    assert moment in note and note.endswith(f" {position}")
    assert 'id="stats-amount">100.00<' in page.text
    assert 'id="f-as_of" value=""' in plain.text and 'id="stats-as-of"' not in plain.text
