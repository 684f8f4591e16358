"""The checks run after a fault scenario. Each returns a list of problems (empty: holds),
so one scenario reports everything it found at once.

- exactly once: every acknowledged command is stored once (and as answered), a rejected
  one never, one without an answer at most once;
- no late execution: a command whose caller gave up was not stored long after that;
- recovery: no write started after the fault ended (plus a grace) went unanswered or
  waited more than ``LIMIT_SECONDS`` longer than the slowest write before the fault;
- approval: every watched change opened exactly one request, the invoice's latest one
  is pending, the older ones superseded, and the invoice names the latest;
- projections: the search views equal a fresh fold of the event stores.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo.database import Database

from tests.faults.cluster import Window
from tests.faults.load import OK, REJECTED, UNKNOWN, Command, Ledger, money_key

LIMIT_SECONDS = 5.0        # the bound: how much longer than before the fault a write may wait after it
LATE_GRACE_SECONDS = 5.0   # how long after the caller gave up a stored command still counts as in time
TITLE_MARK = "故障演练 "

Key = tuple[str, str]


# -- what the store holds, by command token ------------------------------------------------
def stored_commands(invoice_db: Database[Any], customer_db: Database[Any]) -> dict[Key, list[dict[str, Any]]]:
    """Every stored event that a load command wrote, by the command's key."""
    found: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for event in invoice_db["events"].find({"type": {"$in": ["InvoiceCreated", "InvoiceFieldsChanged"]}}):
        for key in _invoice_keys(event):
            found[key].append(event)
    for event in customer_db["events"].find({"type": "PaymentReceived"}):
        reference = str((event.get("data") or {}).get("reference") or "")
        if reference.startswith("F"):
            found[("record_payment", reference)].append(event)
    return found


def _invoice_keys(event: Mapping[str, Any]) -> Iterable[Key]:
    data = event.get("data") or {}
    if event["type"] == "InvoiceCreated":
        title = str((data.get("fields") or {}).get("title") or "")
        if title.startswith(TITLE_MARK):
            yield ("create_invoice", title[len(TITLE_MARK):])
        return
    changes = data.get("changes") or {}
    if "remarks" in changes and str(changes["remarks"].get("to") or "").startswith("F"):
        yield ("remarks", str(changes["remarks"]["to"]))
    if "amount" in changes and changes["amount"].get("to") is not None:
        yield ("amount", money_key(changes["amount"]["to"]))


def command_key(command: Command) -> Key:
    if command.kind in ("create_invoice", "record_payment"):
        return (command.kind, command.token)
    if command.kind == "update_amount":
        return ("amount", command.value)
    return ("remarks", command.token)


# -- exactly once ---------------------------------------------------------------------------
def exactly_once(ledger: Ledger, stored: Mapping[Key, list[dict[str, Any]]]) -> list[str]:
    problems = []
    for command in ledger.commands:
        events = stored.get(command_key(command), [])
        problem = _stored_problem(command, events)
        if problem:
            problems.append(f"{command.kind} {command.token} ({command.outcome} {command.error}): {problem}")
    return problems


def _stored_problem(command: Command, events: list[dict[str, Any]]) -> str | None:
    if len(events) > 1:
        return f"stored {len(events)} times: {[(e['stream_id'], e['version']) for e in events]}"
    if command.outcome == REJECTED and events:
        return f"rejected but stored as {events[0]['stream_id']} v{events[0]['version']}"
    if command.outcome != OK:
        return None
    if not events:
        return "acknowledged but not in the store"
    event = events[0]
    if command.kind == "record_payment" or command.kind == "create_invoice":
        return None if event["stream_id"] == command.result_id else \
            f"answered {command.result_id}, stored as {event['stream_id']}"
    if (event["stream_id"], event["version"]) != (command.invoice_id, command.result_version):
        return f"answered v{command.result_version}, stored as {event['stream_id']} v{event['version']}"
    return None


def not_run_late(ledger: Ledger, stored: Mapping[Key, list[dict[str, Any]]]) -> list[str]:
    """A command whose caller gave up (no answer) must not be executed much later."""
    problems = []
    for command in ledger.of(UNKNOWN):
        for event in stored.get(command_key(command), []):
            at = _timestamp(event["occurred_at"])
            late = at - command.ended_wall
            if late > LATE_GRACE_SECONDS:
                problems.append(f"{command.kind} {command.token}: stored {late:.1f}s after its caller gave up "
                                f"({command.error})")
    return problems


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


# -- recovery -------------------------------------------------------------------------------
def recovered(ledger: Ledger, windows: list[Window], grace: float) -> list[str]:
    """Writes started after a fault ended (+ grace): none went unanswered, none waited
    more than ``LIMIT_SECONDS`` longer than the slowest write before the first fault (on
    a machine shared with other work a write may take seconds without any fault; a stall
    behind a dead transaction or a lost connection takes far longer). A write still in
    flight when the next fault began counts only if it had waited too long by then."""
    baseline = _before(ledger, windows[0].start)
    limit = LIMIT_SECONDS + (baseline[-1] if baseline else 0.0)
    problems, counted = [], 0
    for command in ledger.commands:
        calm = _calm_after(windows, command.started, grace)
        if calm is None:
            continue
        after, until = calm
        waited = min(command.ended, until) - command.started
        if waited > limit or (command.ended <= until and command.outcome == UNKNOWN):
            problems.append(f"{command.kind} started {command.started - after.end:.1f}s after {after.name} "
                            f"ended took {command.seconds:.1f}s ({command.outcome} {command.error})")
        counted += command.ended <= until or waited > limit
    if not counted:
        problems.append("no write was started and answered after the fault ended: the load ended too soon")
    if problems:
        median = f"median {baseline[len(baseline) // 2]:.2f}s, " if baseline else ""
        problems.append(f"(limit {limit:.1f}s; {counted} writes after the fault; before it {len(baseline)}, "
                        f"{median}slowest {limit - LIMIT_SECONDS:.2f}s)")
    return problems


def _before(ledger: Ledger, start: float) -> list[float]:
    return sorted(c.seconds for c in ledger.commands if c.ended < start and c.outcome != UNKNOWN)


def _calm_after(windows: list[Window], started: float, grace: float) -> tuple[Window, float] | None:
    """The fault whose end (+ grace) ``started`` follows with no other fault begun since,
    and when the next fault began (infinity: none did)."""
    for window, following in zip(windows, [*windows[1:], None], strict=True):
        until = following.start if following is not None else float("inf")
        if window.end + grace <= started < until:
            return window, until
    return None


def unasked_conflicts(ledger: Ledger) -> list[str]:
    """Without expected_version the service decides again: no ConcurrencyConflict."""
    return [f"{c.kind} {c.token} on {c.invoice_id}: {c.error}" for c in ledger.of(REJECTED)
            if not c.checked and c.error.startswith("ConcurrencyConflict")]


def rejected_for_other_reasons(ledger: Ledger) -> list[str]:
    """The load sends only valid commands: the one contract error it may see is a
    ConcurrencyConflict (asked for with expected_version)."""
    return [f"{c.kind} {c.token}: {c.error}" for c in ledger.of(REJECTED)
            if not c.error.startswith("ConcurrencyConflict")]


# -- approval requests against the fold of the invoice store --------------------------------
def expected_requests(invoice_db: Database[Any]) -> dict[str, list[str]]:
    """invoice id → the request ids its watched (amount) changes must have opened, in
    stream order (the flow watches amount, has no condition and does not hold)."""
    expected: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in invoice_db["events"].find({"type": {"$in": ["InvoiceCreated", "InvoiceFieldsChanged"]}}):
        expected.setdefault(event["stream_id"], [])
        if event["type"] == "InvoiceFieldsChanged" and "amount" in ((event.get("data") or {}).get("changes") or {}):
            expected[event["stream_id"]].append((int(event["version"]), f"apr_{event['event_id']}"))
    return {invoice_id: [rid for _, rid in sorted(found)] for invoice_id, found in expected.items()}


def approval_matches(hub: Any, expected: Mapping[str, list[str]]) -> list[str]:
    problems = []
    for invoice_id, request_ids in sorted(expected.items()):
        problems.extend(_invoice_requests(hub, invoice_id, request_ids))
    return problems


def _invoice_requests(hub: Any, invoice_id: str, request_ids: list[str]) -> list[str]:
    problems = []
    found = {r["id"]: r for r in hub.approval.requests_for_invoice(invoice_id)}
    if set(found) != set(request_ids):
        missing, extra = sorted(set(request_ids) - set(found)), sorted(set(found) - set(request_ids))
        problems.append(f"{invoice_id}: requests missing {missing}, not from a watched change {extra}")
    latest = request_ids[-1] if request_ids else None
    for request_id in request_ids[:-1]:
        if request_id in found and found[request_id]["status"] != "superseded":
            problems.append(f"{invoice_id}: older request {request_id} is {found[request_id]['status']}, "
                            "not superseded")
    if latest and latest in found and found[latest]["status"] != "pending":
        problems.append(f"{invoice_id}: latest request {latest} is {found[latest]['status']}, not pending")
    invoice = hub.invoice.get_invoice(invoice_id)
    named = (invoice.get("approval_status"), invoice.get("approval_request_id"))
    wanted = ("pending", latest) if latest else ("none", None)
    if named != wanted:
        problems.append(f"{invoice_id}: invoice says {named}, its latest request is {wanted}")
    return problems


# -- waiting for convergence --------------------------------------------------------------
def settle(check: Callable[[], list[str]], timeout: float, interval: float = 2.0) -> list[str]:
    """Run ``check`` until it finds nothing or ``timeout`` passes; its last findings."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            problems = check()
        except Exception as exc:  # noqa: BLE001 - a call that fails while the system settles
            problems = [f"the check failed: {type(exc).__name__}: {exc}"]
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(interval)
