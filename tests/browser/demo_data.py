"""The browser tests' data, created through RPC as the people who own it."""
from __future__ import annotations

from typing import Any

from tests.e2e.search_support import settled
from tests.support.factories import unique
from tests.support.infra import wait_for

LEVEL_LABEL = "客户等级"
FLOW = {"name": "快递单号变更复核", "watched_fields": ["tracking_number"],
        "stages": [{"name": "财务复核", "approvers": ["role:finance"], "mode": "any"}]}


def create_demo(hubs: Any) -> dict[str, Any]:
    admin, sales, sales2 = hubs["admin"], hubs["sales"], hubs["sales2"]
    admin.invoice.define_custom_field({"key": "level", "label": LEVEL_LABEL, "kind": "select",
                                       "options": ["A", "B", "C"]})
    flow = admin.approval.define_flow(FLOW)

    east = sales.customer.create_customer({"name": unique("华东测试客户"), "code": unique("C")})
    south = sales.customer.create_customer({"name": unique("华南测试客户"), "code": unique("C")})
    contract = sales.customer.create_contract({"customer_id": east["id"], "number": unique("HT"),
                                               "title": "年度服务合同", "amount": "100000.00",
                                               "signed_on": "2026-01-10"})
    paid = sales.customer.record_payment({"contract_id": contract["id"], "amount": "1200.00",
                                          "received_on": "2026-03-01", "reference": unique("REF")})
    unpaid = sales.customer.record_payment({"contract_id": contract["id"], "amount": "8000.00",
                                            "received_on": "2026-03-20", "reference": unique("REF")})

    def invoice(hub: Any, **data: Any) -> dict[str, Any]:
        if data["type"] == "vat_special":  # the type's required fields (issue 15); rate 0: no tax
            data = {"buyer_name": "示例科技有限公司", "buyer_tax_id": "91350100M000100Y43",
                    "tax_rate": "0", **data}
        return hub.invoice.create_invoice(data)  # type: ignore[no-any-return]

    special = invoice(sales, title="三月技术服务费", type="vat_special", amount="1200.00",
                      issued_on="2026-03-05", customer_id=east["id"], contract_id=contract["id"],
                      payment_ids=[paid["id"]], courier="顺丰速运", tracking_number="SF1001",
                      invoice_no=unique("NO"), custom={"level": "A"})
    ordinary = invoice(sales, title="三月咨询费", type="vat_ordinary", amount="800.00",
                       issued_on="2026-03-05", customer_id=east["id"], courier="EMS",
                       custom={"level": "B"})
    receipt = invoice(sales, title="三月押金收据", type="receipt", amount="300.00",
                      issued_on="2026-03-18", customer_id=south["id"], custom={"level": "A"})
    february = invoice(sales, title="二月技术服务费", type="vat_special", amount="5000.00",
                       issued_on="2026-02-10", customer_id=east["id"], custom={"level": "A"})
    other_customer = sales2.customer.create_customer({"name": unique("他人客户"), "code": unique("C")})
    foreign = invoice(sales2, title="机密他人票据", type="vat_special", amount="999.00",
                      issued_on="2026-03-05", customer_id=other_customer["id"], courier="顺丰速运",
                      custom={"level": "A"})
    # a courier-number change the flow watches: opens a request for finance
    special = sales.invoice.update_field(special["id"], "tracking_number", "SF1002",
                                         expected_version=special["version"])
    request = wait_for(lambda: next(iter(admin.approval.requests_for_invoice(special["id"])), None),
                       timeout=20, message="the approval request of the courier change")
    settled(admin)
    wait_for(lambda: admin.search.get_invoice_view(special["id"])["approval_status"] == "pending",
             timeout=20, message="the pending status in the search view")
    return {"flow": flow, "east": east, "south": south, "contract": contract, "paid": paid,
            "unpaid": unpaid, "special": special, "ordinary": ordinary, "receipt": receipt,
            "february": february, "foreign": foreign, "request": request}
