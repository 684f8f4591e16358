"""Issue 9, finding 5: status reports race. Two quick watched changes plus unwatched
edits on each of 40 invoices, 4 clients at once: a report about the older (superseded)
request can retry after conflicting with the edits and arrive last. The invoice must
still name its latest request, its history must never go back from a newer request to
an older one, and the search view (the same fold of the same events) must agree."""
from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

from tests.e2e.approval_support import flow_data, people
from tests.support.factories import World, invoice_data
from tests.support.infra import wait_for

INVOICES, CLIENTS = 40, 4
# Time bounds, not speed targets: on 2 cores shared with load ~20 the race took ~110 s.
CREATE_SECONDS, RACE_SECONDS = 60, 150
APPROVAL_QUEUES = ("evt-invoice--approval.on_invoice_event", "evt-approval--approval.on_request_outcome")


def approval_queues_busy(vhost_name: str) -> int:
    """Messages waiting in, or being handled from, the approval service's event queues."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost_name, "name", "messages_ready",
         "messages_unacknowledged", "--no-table-headers"],
        check=True, capture_output=True, text=True, timeout=30).stdout
    rows = [line.split() for line in listed.splitlines() if line.strip()]
    return sum(int(ready) + int(unacked) for name, ready, unacked in rows if name in APPROVAL_QUEUES)


def wait_until_approval_drains(vhost_name: str, timeout: float, quiet_polls: int = 3) -> None:
    """Both approval queues empty and nothing in hand, ``quiet_polls`` times in a row
    (a relay may still publish a request event just after one empty look)."""
    quiet = [0]

    def drained() -> bool:
        quiet[0] = quiet[0] + 1 if approval_queues_busy(vhost_name) == 0 else 0
        return quiet[0] >= quiet_polls
    wait_for(drained, timeout=timeout, interval=0.5, message="the approval queues to drain")


def run_clients(work: Any, hubs: list[Any], items: list[Any], deadline: float) -> list[Any]:
    """``work(hub, item)`` for every item, ``len(hubs)`` clients at once; results in order."""
    results: list[Any] = [None] * len(items)

    def client(n: int) -> None:
        for index in range(n, len(items), len(hubs)):
            results[index] = work(hubs[n], items[index])
    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(hubs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    assert not any(t.is_alive() for t in threads), "the clients did not finish in time"
    assert None not in results, "a client failed (see its traceback above)"
    return results


def edit(hub: Any, invoice_id: str) -> str:
    """Two quick watched changes (amount), unwatched edits between and after them."""
    hub.invoice.update_field(invoice_id, "amount", "41000.00")
    hub.invoice.update_field(invoice_id, "remarks", "第一次修改")
    hub.invoice.update_field(invoice_id, "amount", "42000.00")
    hub.invoice.update_field(invoice_id, "courier", "顺丰速运")
    hub.invoice.update_field(invoice_id, "tracking_number", "SF1234567890")
    return invoice_id


def test_every_invoice_names_its_latest_request_after_racing_reports(
        clients: Any, world: World, vhost: Any) -> None:
    # given a flow on amount for one customer's invoices, and 4 clients creating 40
    who = people(clients)
    customer_id = world.customer()["id"]
    who.admin.approval.define_flow(flow_data(customer_id))
    hubs = [clients.as_user(roles=["sales"], sub=who.sales_id) for _ in range(CLIENTS)]
    invoice_ids = run_clients(lambda hub, _: hub.invoice.create_invoice(invoice_data(customer_id))["id"],
                              hubs, list(range(INVOICES)), time.monotonic() + CREATE_SECONDS)

    # when each client makes two watched changes and three unwatched edits per invoice
    deadline = time.monotonic() + RACE_SECONDS
    run_clients(edit, hubs, invoice_ids, deadline)
    for invoice_id in invoice_ids:
        wait_for(lambda i=invoice_id: len(who.admin.approval.requests_for_invoice(i)) >= 2,
                 timeout=max(deadline - time.monotonic(), 1), message=f"two requests for {invoice_id}")
    wait_until_approval_drains(vhost.name, timeout=max(deadline - time.monotonic(), 5))

    # then each invoice names its latest request, with that request's status, and no
    # report about an older request was recorded after one about a newer request
    wrong: list[str] = []
    went_back: list[str] = []
    for invoice_id in invoice_ids:
        requests = who.admin.approval.requests_for_invoice(invoice_id)
        latest = max(requests, key=lambda r: r["invoice_version"])
        assert latest["status"] == "pending"
        invoice = who.admin.invoice.get_invoice(invoice_id)
        view = wait_for(lambda i=invoice_id, v=invoice["version"]:
                        (found := who.admin.search.get_invoice_view(i)) and found["version"] >= v and found,
                        timeout=30, message=f"search to fold {invoice_id}")
        assert (view["approval_status"], view["approval_request_id"]) == \
            (invoice["approval_status"], invoice["approval_request_id"])
        if (invoice["approval_request_id"], invoice["approval_status"]) != (latest["id"], "pending"):
            wrong.append(f"{invoice_id}: names {invoice['approval_request_id']} "
                         f"({invoice['approval_status']}), latest {latest['id']}")
        trigger_of = {r["id"]: r["invoice_version"] for r in requests}
        named = [trigger_of[e["data"]["request_id"]] for e in who.admin.invoice.get_events(invoice_id)
                 if e["type"] == "InvoiceApprovalStatusChanged"]
        if named != sorted(named):
            went_back.append(f"{invoice_id}: named requests of trigger versions {named}, in this order")
    assert not wrong and not went_back, (
        f"{len(wrong)} of {INVOICES} invoices do not name their latest request, {len(went_back)} "
        f"went back to an older one:\n" + "\n".join(wrong + went_back))
