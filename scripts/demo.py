"""Load a small demo data set through RPC only, then print a summary that shows it works.

    .venv/bin/python scripts/demo.py [--summary-only]

Idempotent: when the marker customer (code DEMO-001, created last) exists, nothing is
loaded again. A run that stopped half-way is finished by the next one: customers are
found by code, contracts by number, payments by reference, and an invoice whose
invoice_no is taken (Conflict) is left as it is.

Also defines an approval flow (快递信息变更复核) before the invoices, so changing the
showcase invoice's courier number opens a request that a finance user then approves,
and shows the search service's answers (stats, courier lookup, reconciliation).

Needs the four services running; AMQP_URI and INVOICE_AUTH_SECRET as
for the services. Run from the repository root (``shared`` must be importable).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
logging.getLogger("amqp").setLevel(logging.ERROR)

from nameko.exceptions import RemoteError  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared import rpc_errors  # noqa: E402, F401 - replies carry the contract errors by type
from shared.auth import DEFAULT_SECRET, bearer, issue_token  # noqa: E402
from shared.errors import Conflict, ServiceError  # noqa: E402
from shared.rpc_client import client_proxy  # noqa: E402

MARKER_CODE = "DEMO-001"
MARKER_NAME = "北京云帆数据服务有限公司"

# Each customer with its contracts; each contract with its payments (回款) and invoices.
# An invoice's "payments" name payment references of its contract.
DATA: list[dict[str, Any]] = [
    {
        "customer": {"name": "上海星河科技有限公司", "code": "DEMO-002",
                     "industry": "软件和信息技术服务业", "phone": "021-6888-1201",
                     "address": "上海市浦东新区张江路88号"},
        "contracts": [{
            "contract": {"number": "HT-DEMO-2026-001", "title": "星河CRM年度实施服务合同",
                         "amount": "360000.00", "signed_on": "2026-01-15"},
            "payments": [
                {"amount": "120000.00", "received_on": "2026-02-10", "method": "bank_transfer",
                 "reference": "DEMO-PAY-001"},
                {"amount": "120000.00", "received_on": "2026-05-12", "method": "bank_transfer",
                 "reference": "DEMO-PAY-002"},
            ],
            "invoices": [
                {"title": "一期实施服务费", "content": "CRM系统一期实施服务", "type": "vat_special",
                 "buyer_name": "华为技术有限公司", "buyer_tax_id": "914403001922038216",
                 "tax_rate": "0.06",
                 "amount": "120000.00", "issued_on": "2026-02-12", "invoice_no": "DEMO-INV-0001",
                 "courier": "顺丰速运", "tracking_number": "SF1402837465920",
                 "payments": ["DEMO-PAY-001"],
                 "then": {"remarks": "客户财务已签收", "tracking_number": "SF1402837465921"}},
                {"title": "二期实施服务费", "content": "CRM系统二期实施服务", "type": "vat_special",
                 "buyer_name": "华为技术有限公司", "buyer_tax_id": "914403001922038216",
                 "tax_rate": "0.06",
                 "amount": "120000.00", "issued_on": "2026-05-15", "invoice_no": "DEMO-INV-0002",
                 "payments": ["DEMO-PAY-002"]},
            ],
        }],
    },
    {
        "customer": {"name": "杭州青禾餐饮管理有限公司", "code": "DEMO-003", "industry": "餐饮业",
                     "phone": "0571-8765-4321", "address": "杭州市西湖区文三路120号"},
        "contracts": [{
            "contract": {"number": "HT-DEMO-2026-002", "title": "门店收银系统采购合同",
                         "amount": "58000.00", "signed_on": "2026-03-03"},
            "payments": [
                {"amount": "58000.00", "received_on": "2026-03-20", "method": "bank_transfer",
                 "reference": "DEMO-PAY-003"},
            ],
            "invoices": [
                {"title": "收银系统设备款", "content": "收银终端及软件授权", "type": "vat_ordinary",
                 "amount": "58000.00", "issued_on": "2026-03-22", "invoice_no": "DEMO-INV-0003",
                 "payments": ["DEMO-PAY-003"]},
            ],
        }],
    },
    {
        "customer": {"name": "深圳鹏程物流有限公司", "code": "DEMO-004", "industry": "交通运输业",
                     "phone": "0755-2233-4455", "address": "深圳市南山区科技园南路6号"},
        "contracts": [{
            "contract": {"number": "HT-DEMO-2026-003", "title": "仓储系统维护合同",
                         "amount": "24000.50", "signed_on": "2026-04-01"},
            "payments": [
                {"amount": "12000.25", "received_on": "2026-04-18", "method": "cash",
                 "reference": "DEMO-PAY-004"},
                # not invoiced yet: search.uninvoiced_payments() finds it
                {"amount": "12000.25", "received_on": "2026-07-18", "method": "bank_transfer",
                 "reference": "DEMO-PAY-005"},
            ],
            "invoices": [
                {"title": "第一季度维护费收据", "content": "仓储系统维护服务", "type": "receipt",
                 "amount": "12000.25", "issued_on": "2026-04-18", "invoice_no": "DEMO-RCPT-0001",
                 "payments": ["DEMO-PAY-004"]},
            ],
        }],
    },
]
# Created last: its presence means the whole set above is loaded. A prospect (潜在客户),
# no contracts yet.
MARKER = {"name": MARKER_NAME, "code": MARKER_CODE, "industry": "数据服务",
          "phone": "010-8250-6600", "address": "北京市海淀区中关村大街27号"}
SHOWCASE_INVOICE_NO = "DEMO-INV-0001"
FLOW = {"name": "快递信息变更复核", "watched_fields": ["tracking_number", "courier"],
        "trigger_on_create": False,
        "condition": [{"field": "amount", "op": "gte", "value": "50000"}],
        "stages": [{"name": "财务复核", "approvers": ["role:finance"], "mode": "any"}],
        "cc": ["user:demo-loader"], "active": True}
# The demo's customers, contracts and invoices belong to the demo account "sales" (and
# its department), so that sales and manager see them in the pages, not only admin.
OWNER = {"owner_id": "demo-sales", "department_id": "dept-sales"}
FINANCE_USER = {"sub": "demo-finance", "name": "财务 王芳", "department": "dept-finance",
                "roles": ["finance"]}


def hub(user: dict[str, Any] | None = None) -> ClusterRpcProxy:
    secret = os.environ.get("INVOICE_AUTH_SECRET") or DEFAULT_SECRET
    claims = user or {"sub": "demo-loader", "name": "演示数据导入", "department": "dept-finance",
                      "roles": ["admin"]}
    token = issue_token(secret, **claims)
    uri = os.environ.get("INVOICE_CLIENT_AMQP_URI") or os.environ.get("AMQP_URI") \
        or "amqp://invoice-client:invoice-client-dev@127.0.0.1:5672/"
    return client_proxy(uri, bearer(token), timeout=60)


def customers_named(rpc: Any, name: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = rpc.customer.list_customers(name_contains=name, limit=50, cursor=cursor)
        yield from page.get("items") or []
        cursor = page.get("next_cursor")
        if not cursor:
            return


def find_customer(rpc: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in customers_named(rpc, data["name"]) if c.get("code") == data["code"]), None)


def ensure_customer(rpc: Any, data: dict[str, Any]) -> dict[str, Any]:
    found = find_customer(rpc, data)
    if found:
        print(f"    customer {data['code']} {data['name']}: exists")
        return found
    created = rpc.customer.create_customer({**OWNER, **data})
    print(f"    customer {data['code']} {data['name']}: created")
    return created


def ensure_contract(rpc: Any, customer_id: str, data: dict[str, Any]) -> dict[str, Any]:
    for contract in rpc.customer.list_contracts(customer_id):
        if contract.get("number") == data["number"]:
            print(f"      contract {data['number']}: exists")
            return contract
    created = rpc.customer.create_contract({"customer_id": customer_id, **OWNER, **data})
    print(f"      contract {data['number']} {data['title']} ({data['amount']}): created")
    return created


def ensure_payment(rpc: Any, contract_id: str, data: dict[str, Any]) -> dict[str, Any]:
    for payment in rpc.customer.list_payments(contract_id=contract_id):
        if payment.get("reference") == data["reference"]:
            print(f"        payment {data['reference']}: exists")
            return payment
    created = rpc.customer.record_payment({"contract_id": contract_id, **data})
    print(f"        payment {data['reference']} {data['amount']} on {data['received_on']}: recorded")
    return created


def ensure_invoice(rpc: Any, customer_id: str, contract_id: str, payment_ids: dict[str, str],
                   data: dict[str, Any]) -> dict[str, Any] | None:
    spec = {**OWNER, **{k: v for k, v in data.items() if k not in ("payments", "then")}}
    spec.update(customer_id=customer_id, contract_id=contract_id,
                payment_ids=[payment_ids[ref] for ref in data.get("payments", [])])
    try:
        invoice = rpc.invoice.create_invoice(spec)
    except Conflict:
        print(f"        invoice {data['invoice_no']}: exists")
        return None
    print(f"        invoice {data['invoice_no']} {invoice.get('number')} {data['type']} "
          f"{data['amount']}: created")
    for field, value in (data.get("then") or {}).items():
        invoice = rpc.invoice.update_field(invoice["id"], field, value)
        held = invoice.get("pending_change") or {}
        print(f"          update_field {field} = {value!r} -> version {invoice.get('version')}"
              + (f" (held until approved: request {held['request_id']}; {field} still "
                 f"{invoice.get(field)!r})" if field in (held.get("changes") or {}) else ""))
    return invoice


def ensure_flow(rpc: Any) -> dict[str, Any]:
    for flow in rpc.approval.list_flows():
        if flow.get("name") == FLOW["name"]:
            print(f"    approval flow {FLOW['name']}: exists")
            return dict(flow)
    flow = rpc.approval.define_flow(FLOW)
    print(f"    approval flow {FLOW['name']} ({flow['id']} v{flow['version']}): defined, watches "
          f"{', '.join(FLOW['watched_fields'])} when amount >= 50000")
    return dict(flow)


def load(rpc: Any) -> dict[str, str]:
    """Create what is missing; returns invoice_no -> invoice id for invoices made now."""
    made: dict[str, str] = {}
    ensure_flow(rpc)
    for entry in DATA:
        customer = ensure_customer(rpc, entry["customer"])
        for group in entry["contracts"]:
            contract = ensure_contract(rpc, customer["id"], group["contract"])
            payment_ids = {p["reference"]: ensure_payment(rpc, contract["id"], p)["id"]
                           for p in group["payments"]}
            for spec in group["invoices"]:
                invoice = ensure_invoice(rpc, customer["id"], contract["id"], payment_ids, spec)
                if invoice:
                    made[spec["invoice_no"]] = invoice["id"]
    ensure_customer(rpc, MARKER)
    return made


def demo_invoice_ids(rpc: Any, max_events: int = 5000) -> dict[str, str]:
    """invoice_no -> id of the demo invoices, from the InvoiceCreated events among the
    first ``max_events`` of the global log (the demo is loaded into a fresh store)."""
    wanted = {spec["invoice_no"] for e in DATA for g in e["contracts"] for spec in g["invoices"]}
    found: dict[str, str] = {}
    position = 0
    while position < max_events and len(found) < len(wanted):
        page = rpc.invoice.read_events(after_position=position, limit=1000)
        for event in page["events"]:
            invoice_no = ((event.get("data") or {}).get("fields") or {}).get("invoice_no")
            if event.get("type") == "InvoiceCreated" and invoice_no in wanted:
                found.setdefault(invoice_no, str(event["stream_id"]))
        if not page["events"] or page["last_position"] == position:
            break
        position = page["last_position"]
    return found


def summary(rpc: Any, made: dict[str, str]) -> bool:
    print("==> demo data summary")
    customers = contracts = payments = 0
    for entry in [*DATA, {"customer": MARKER}]:
        found = find_customer(rpc, entry["customer"])
        if not found:
            continue
        customers += 1
        for contract in rpc.customer.list_contracts(found["id"]):
            contracts += 1
            payments += len(rpc.customer.list_payments(contract_id=contract["id"]))
    invoice_ids = {**demo_invoice_ids(rpc), **made}
    print(f"    demo customers: {customers}, contracts: {contracts}, payments (回款): {payments}, "
          f"invoices: {len(invoice_ids)}")
    types = rpc.invoice.list_invoice_types()
    print("    invoice types: " + ", ".join(f"{t['key']} {t.get('label', '')}" for t in types))

    invoice_id = invoice_ids.get(SHOWCASE_INVOICE_NO)
    if invoice_id:
        invoice = rpc.invoice.get_invoice(invoice_id, only_filled=True)
        print(f"    invoice {invoice.get('number')} ({invoice_id}): {invoice.get('title')} "
              f"{invoice.get('type')} {invoice.get('amount')} issued {invoice.get('issued_on')}, "
              f"courier {invoice.get('courier')} {invoice.get('tracking_number')}, "
              f"version {invoice.get('version')}")
        print("    its history (invoice.get_history):")
        for entry in rpc.invoice.get_history(invoice_id):
            actor = entry.get("actor") or {}
            changes = entry.get("changes") or {}
            if entry["event_type"] == "InvoiceCreated":
                what = f"{len(changes)} fields set, number {changes.get('number', {}).get('to')}"
            else:
                what = ", ".join(f"{name}: {change.get('from')!r} -> {change.get('to')!r}"
                                 for name, change in sorted(changes.items()))
            print(f"      v{entry['version']} {entry['event_type']:<22} {entry['occurred_at']} "
                  f"by {actor.get('name') or actor.get('id')}: {what}")
    else:
        print(f"    (invoice {SHOWCASE_INVOICE_NO} not found among the first events: no history shown)")
    approved = show_approval(rpc, invoice_id) if invoice_id else False
    searched = show_search(rpc)
    result = rpc.invoice.verify()
    print(f"    invoice.verify(): ok={result.get('ok')} checked={result.get('checked')} "
          f"broken={len(result.get('broken') or [])}")
    return bool(result.get("ok")) and approved and searched


def eventually(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy answer of ``probe``: projections and reactions are asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def show_approval(rpc: Any, invoice_id: str) -> bool:
    """The courier-number change opened a request; a finance user approves it."""
    requests = eventually(lambda: rpc.approval.requests_for_invoice(invoice_id))
    if not requests:
        print("    approval: no request opened for the courier-number change (is the flow defined?)")
        return False
    request = requests[-1]
    if request["status"] == "pending":
        with hub(FINANCE_USER) as finance:
            inbox = finance.approval.list_requests(mine=True)
            print(f"    {FINANCE_USER['name']}'s approval inbox: {len(inbox)} request(s)")
            request = finance.approval.approve(request["id"], "快递单号已核对")
    decisions = [f"{_who(d.get('user'))} {d.get('decision')}: {d.get('comment')}"
                 for stage in request.get("stages") or [] for d in stage.get("decisions") or []]
    print(f"    approval request {request['id']} (flow v{request['flow_version']}, changed "
          f"{', '.join(request.get('changed_fields') or [])}): {request['status']}"
          f" ({'; '.join(decisions)})")
    invoice = eventually(lambda: (lambda inv: inv if inv.get("approval_status") == "approved" else None)(
        rpc.invoice.get_invoice(invoice_id)))
    status = (invoice or {}).get("approval_status")
    print(f"    invoice approval_status: {status}")
    return status == "approved"


def _who(user: Any) -> str:
    return str(user.get("name") or user.get("id")) if isinstance(user, dict) else str(user)


def show_search(rpc: Any) -> bool:
    """What the people behind the seed ask, answered by the search projections."""
    caught_up = eventually(lambda: rpc.search.projection_status().get("lag_events") == 0)
    status = rpc.search.projection_status()
    print(f"    search.projection_status(): {status}")
    by_type = rpc.search.stats(None, ["type"])
    for row in by_type["rows"]:
        print(f"      stats by type: {row['type']:<13} {row['count']} invoice(s), {row['amount']}")
    print(f"      total: {by_type['total']['count']} invoice(s), {by_type['total']['amount']}")
    found = rpc.search.search({"filters": [{"field": "tracking_number", "op": "prefix",
                                            "value": "SF14028"}]})
    for item in found["items"]:
        print(f"      courier number SF14028…: {item['number']} {item['title']} "
              f"{item['tracking_number']} ({item['customer_name']}, {item['approval_status']})")
    uninvoiced = rpc.search.uninvoiced_payments()
    for payment in uninvoiced["items"]:
        print(f"      payment without an invoice: {payment.get('id')} {payment.get('amount')} "
              f"received {payment.get('received_on')}")
    return bool(caught_up) and by_type["total"]["count"] > 0 and bool(found["items"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary-only", action="store_true", help="load nothing, only report")
    args = parser.parse_args(argv)
    with hub() as rpc:
        made: dict[str, str] = {}
        if args.summary_only:
            pass
        elif find_customer(rpc, MARKER):
            print(f"==> demo data already loaded (marker customer {MARKER_CODE} exists): nothing to do")
        else:
            print("==> loading demo data through RPC")
            made = load(rpc)
        ok = summary(rpc, made)
    if not args.summary_only:
        from demo_users import report, write_demo_users  # the gateway's demo accounts
        report(write_demo_users())
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RemoteError as exc:
        print(f"==> ERROR: a call failed: {exc.exc_type}: {exc.value}", file=sys.stderr)
        sys.exit(1)
    except ServiceError as exc:
        print(f"==> ERROR: a call failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
