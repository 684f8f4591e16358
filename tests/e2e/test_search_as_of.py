"""Stats and calendar as of a past moment: take them live, change things, then ask as of
the earlier moment (by timestamp and by position) and get the live figures back."""
from __future__ import annotations

from typing import Any

import pytest

from shared.dates import utc_now
from shared.errors import ValidationError
from tests.e2e.search_support import settled
from tests.support.factories import World, invoice_data


def test_stats_as_of_a_moment_equal_the_live_stats_taken_then(admin: Any, world: World) -> None:
    customer = world.customer()
    mine = {"filters": [{"field": "customer_id", "op": "eq", "value": customer["id"]}]}
    first = admin.invoice.create_invoice(invoice_data(customer["id"], amount="100.00", issued_on="2026-01-05"))
    second = admin.invoice.create_invoice(invoice_data(customer["id"], amount="250.50", type="receipt",
                                                       issued_on="2026-01-20"))
    settled(admin)
    live_mine = admin.search.stats(mine, ["type", "month"])
    live_all = admin.search.stats(None, ["type", "status"])
    live_calendar = admin.search.calendar(2026, 1, mine)
    moment = utc_now()

    admin.invoice.update_field(first["id"], "amount", "999.00")
    admin.invoice.void_invoice(second["id"], "开错了")
    admin.invoice.create_invoice(invoice_data(customer["id"], amount="5.00", issued_on="2026-01-21"))
    settled(admin)
    assert admin.search.stats(mine, ["type", "month"]) != live_mine

    then = admin.search.stats(mine, ["type", "month"], as_of=moment)
    assert {k: then[k] for k in ("rows", "total")} == live_mine
    assert then["as_of"]["timestamp"] == moment and then["as_of"]["invoice_position"] > 0
    everything = admin.search.stats(None, ["type", "status"], as_of=moment)
    assert {k: everything[k] for k in ("rows", "total")} == live_all

    by_position = admin.search.stats(mine, ["type", "month"], as_of=then["as_of"]["invoice_position"])
    assert {k: by_position[k] for k in ("rows", "total")} == live_mine
    assert by_position["as_of"]["invoice_position"] == then["as_of"]["invoice_position"]

    calendar = admin.search.calendar(2026, 1, mine, as_of=moment)
    assert calendar["days"] == live_calendar and calendar["as_of"] == then["as_of"]


@pytest.mark.parametrize("as_of", ["yesterday", -1, True, {"at": 1}])
def test_a_bad_as_of_is_refused_naming_the_field(admin: Any, as_of: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        admin.search.stats(None, ["type"], as_of=as_of)
    assert "as_of" in refused.value.args[0]
