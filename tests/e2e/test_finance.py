"""Issue 15 through RPC: VAT fields and figures, required fields per type, credit notes
(红字发票) and net amounts in search."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from shared.errors import Conflict, Forbidden, ValidationError
from tests.e2e.search_support import settled
from tests.support.actors import Clients
from tests.support.factories import World, invoice_data

TENCENT = "9144030071526726XG"


def vat(customer_id: str, **overrides: Any) -> dict[str, Any]:
    return invoice_data(customer_id, **{"amount": "1130.00", "buyer_name": "深圳市腾讯计算机系统有限公司",
                                        "buyer_tax_id": TENCENT, "tax_rate": "0.13",
                                        "buyer_address_phone": "深圳市南山区 0755-86013388",
                                        "buyer_bank_account": "招商银行深圳分行 755900000000001",
                                        **overrides})


def test_a_vat_invoice_returns_its_tax_and_a_bad_taxpayer_number_is_named(admin: Any, world: World) -> None:
    customer_id = world.customer()["id"]

    invoice = admin.invoice.create_invoice(vat(customer_id))

    assert (invoice["tax_rate"], invoice["tax_amount"], invoice["amount_excluding_tax"]) == \
        ("0.13", "130.00", "1000.00")
    assert invoice["kind"] == "invoice" and invoice["net_amount"] == "1130.00"
    with pytest.raises(ValidationError) as error:
        admin.invoice.create_invoice(vat(customer_id, buyer_tax_id=TENCENT[:-1] + "Y"))
    assert "buyer_tax_id" in error.value.args[0]
    with pytest.raises(ValidationError) as error:
        admin.invoice.create_invoice(vat(customer_id, buyer_name=None))
    assert "buyer_name" in error.value.args[0]
    lines = [{"name": "云服务", "quantity": "3", "unit_price": "0.335", "amount": "1.01", "tax_rate": "0.06"}]
    with_lines = admin.invoice.create_invoice(vat(customer_id, amount="1.01", tax_rate=None, lines=lines))
    assert with_lines["tax_rate"] == "0.06" and with_lines["tax_amount"] == "0.06"
    assert with_lines["lines"][0]["amount"] == "1.01"


def test_credit_notes_net_the_invoice_in_stats_and_refuse_what_the_rules_forbid(
        admin: Any, clients: Clients, world: World) -> None:
    customer_id = world.customer()["id"]
    original = admin.invoice.create_invoice(vat(customer_id))

    part = admin.invoice.create_credit_note(original["id"], {"reason": "销售折让", "amount": "113.00"})
    with pytest.raises(Conflict):
        admin.invoice.create_credit_note(original["id"], {"reason": "超额", "amount": "1017.01"})
    rest = admin.invoice.create_credit_note(original["id"], {"reason": "退货"})

    assert (part["kind"], part["amount"], part["tax_amount"]) == ("credit", "-113.00", "-13.00")
    assert rest["amount"] == "-1017.00" and rest["credits_invoice_id"] == original["id"]
    credited = admin.invoice.get_invoice(original["id"])
    assert credited["status"] == "credited" and credited["net_amount"] == "0.00"
    assert credited["credit_note_ids"] == [part["id"], rest["id"]]
    with pytest.raises(Conflict):
        admin.invoice.void_invoice(original["id"], "重开")
    with pytest.raises(Conflict):
        admin.invoice.create_credit_note(part["id"], {"reason": "x"})
    with pytest.raises(Forbidden):
        clients.as_user(sub="sales-9", roles=["sales"]).invoice.create_credit_note(
            original["id"], {"reason": "x"})
    settled(admin)
    stats = admin.search.stats({"filters": [{"field": "customer_id", "op": "eq", "value": customer_id}]},
                               ["kind"])
    assert stats["total"] == {"count": 3, "amount": "0.00", "tax_amount": "0.00",
                              "amount_excluding_tax": "0.00"}
    assert [(r["kind"], r["count"]) for r in stats["rows"]] == [("credit", 2), ("invoice", 1)]
    assert admin.invoice.verify(original["id"])["ok"]


def test_attachments_over_rpc_sniff_the_type_hash_into_the_chain_and_hide_on_removal(
        admin: Any, world: World) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    added = admin.invoice.add_attachment(invoice["id"], "发票.pdf", base64.b64encode(png).decode())
    with pytest.raises(ValidationError) as error:
        admin.invoice.add_attachment(invoice["id"], "setup.pdf", base64.b64encode(b"MZ" + b"\0" * 64).decode())

    assert "content" in error.value.args[0]
    assert (added["content_type"], added["size"]) == ("image/png", len(png))
    assert added["sha256"] == hashlib.sha256(png).hexdigest()
    assert [a["attachment_id"] for a in admin.invoice.list_attachments(invoice["id"])] == [added["attachment_id"]]
    assert admin.invoice.get_events(invoice["id"])[-1]["data"]["sha256"] == added["sha256"]
    after = admin.invoice.remove_attachment(invoice["id"], added["attachment_id"])
    assert after["attachments"] == [] and admin.invoice.list_attachments(invoice["id"]) == []
    assert admin.invoice.list_attachments(invoice["id"], True)[0]["removed"] is True
    assert admin.invoice.verify(invoice["id"])["ok"]
