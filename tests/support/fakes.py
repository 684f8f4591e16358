"""Hand-written in-memory fakes of the services' ports. Each passes the same contract
test as its MongoDB adapter (tests/contracts/), so they cannot drift: the event log,
the invoice, customer and approval flow, request, notification and webhook ports, the
catch-up checkpoint."""
from __future__ import annotations

import bisect
import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from approval.domain.flow import Flow
from approval.domain.notifications import notifications_for
from approval.domain.request import PENDING, ApprovalRequest
from approval.domain.webhooks import PENDING as DELIVERY_PENDING
from approval.domain.webhooks import deliveries_for, webhook_events
from customer.adapters.customers import decode_cursor, encode_cursor
from customer.domain.model import Contract, Customer, Payment, Record
from invoice.domain.events import STREAM_INVOICE
from invoice.domain.importing import AlreadyImported
from invoice.domain.model import ACTIVE, Invoice
from invoice.domain.settings import Setting, setting_stream
from shared.dates import utc_now
from shared.errors import ConcurrencyConflict, Conflict, NotFound
from shared.events.aggregate import Aggregate
from shared.events.catchup import resume_position
from shared.events.envelope import ChainChecker, Metadata, PendingEvent, StreamHead, envelope_to_wire
from shared.events.store import build_envelopes
from shared.idempotency import IdempotencyKey, KeyRecord, KeyTaken


class InMemoryEventLog:
    """The event store's behaviour (versions, positions, hash chain, atomic appends)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append(self, stream_id: str, stream_type: str, head: StreamHead,
               pending: list[PendingEvent], meta: Metadata,
               also: Callable[[Any, list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
        current = self.current_version(stream_id)
        if head.version != current:
            raise ConcurrencyConflict({"current_version": current, "message": "stale head"})
        envelopes = build_envelopes(stream_id, stream_type, head, pending, meta, utc_now(),
                                    len(self.events) + 1)
        if also is not None:
            also(None, envelopes)  # raising here aborts the append, as a transaction would
        self.events.extend(copy.deepcopy(envelopes))
        return envelopes

    def current_version(self, stream_id: str) -> int:
        return max((e["version"] for e in self.events if e["stream_id"] == stream_id), default=0)

    def stream(self, stream_id: str, after_version: int = 0,
               up_to_version: int | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(e) for e in self.events if e["stream_id"] == stream_id
                and e["version"] > after_version
                and (up_to_version is None or e["version"] <= up_to_version)]

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        return [copy.deepcopy(e) for e in self.events if e["position"] > after_position][:limit]

    def verify(self, stream_ids: Iterable[str] | None = None) -> dict[str, Any]:
        wanted = None if stream_ids is None else set(stream_ids)
        checker = ChainChecker()
        broken = [problem for e in self.events if wanted is None or e["stream_id"] in wanted
                  for problem in checker.feed(e)]
        return {"ok": not broken, "checked": checker.checked, "broken": broken}


class FakeIdempotencyKeys:
    """The ``idempotency_keys`` collection: a key is stored once (KeyTaken after)."""

    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}

    def find(self, key: IdempotencyKey) -> KeyRecord | None:
        return self.records.get(key.scope_id)

    def claim(self, key: IdempotencyKey | None, record_id: str) -> None:
        if key is None:
            return
        if key.scope_id in self.records:
            raise KeyTaken(key.scope_id)
        self.records[key.scope_id] = KeyRecord(record_id, key.fingerprint, utc_now_dt())


def utc_now_dt() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


A = TypeVar("A", bound=Aggregate)


def save_aggregate(log: InMemoryEventLog, aggregate: A, meta: Metadata,
                   write_state: Callable[[A], None],
                   keys: FakeIdempotencyKeys | None = None,
                   key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
    """What every fake repository's ``save`` does, as AggregateRepository.save does on
    MongoDB: append the pending events, store ``key`` and hand the folded result to
    ``write_state`` inside the append (raising there aborts it), then apply them to
    ``aggregate``."""
    def also(_: Any, envelopes: list[dict[str, Any]]) -> None:
        if keys is not None:
            keys.claim(key, aggregate.id)
        after = copy.deepcopy(aggregate)
        for envelope in envelopes:
            after.apply(envelope)
        write_state(after)

    envelopes = log.append(aggregate.id, aggregate.stream_type(), aggregate.head,
                           aggregate.pending, meta, also=also)
    for envelope in envelopes:
        aggregate.apply(envelope)
    aggregate.pending.clear()
    return envelopes


class FakeInvoiceRepository:
    def __init__(self, log: InMemoryEventLog) -> None:
        self.log = log
        self.states: dict[str, dict[str, Any]] = {}
        self.keys = FakeIdempotencyKeys()
        self.import_keys: dict[str, str] = {}
        self._numbers = itertools.count(1)

    def load(self, invoice_id: str, up_to_version: int | None = None,
             as_of: str | None = None) -> Invoice:
        events = self.log.stream(invoice_id, up_to_version=up_to_version)
        if as_of is not None:
            events = [e for e in events if e["occurred_at"] <= as_of]
        if events and events[0]["stream_type"] != STREAM_INVOICE:
            raise NotFound(f"invoice {invoice_id} not found")
        return Invoice.replay(invoice_id, events)

    def save(self, invoice: Invoice, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        def write_state(after: Invoice) -> None:
            fields = after.fields
            if after.status == ACTIVE and fields.get("invoice_no") and \
                    self.invoice_no_taken(fields["type"], fields["invoice_no"], after.id):
                raise Conflict({"invoice_no": [f"{fields['invoice_no']!r} is already used"]})
            self.states[after.id] = after.to_dict()

        keys = dict(self.keys.records)
        try:
            return save_aggregate(self.log, invoice, meta, write_state, self.keys, key)
        except Exception:
            self.keys.records = keys  # as a transaction would
            raise

    def save_imported(self, invoice: Invoice, meta: Metadata, external_id: str) -> list[dict[str, Any]]:
        if external_id in self.import_keys:
            raise AlreadyImported(external_id, self.import_keys[external_id])
        envelopes = self.save(invoice, meta)
        self.import_keys[external_id] = invoice.id
        return envelopes

    def imported(self, external_ids: Iterable[str]) -> dict[str, str]:
        return {e: self.import_keys[e] for e in external_ids if e in self.import_keys}

    def save_together(self, first: Invoice, second: Invoice, meta: Metadata,
                      key: IdempotencyKey | None = None) -> None:
        events, states, keys = list(self.log.events), copy.deepcopy(self.states), dict(self.keys.records)
        try:
            self.save(first, meta)
            self.save(second, meta, key)
        except Exception:
            self.log.events[:], self.states = events, states  # as a transaction would
            self.keys.records = keys
            raise

    def created_with(self, key: IdempotencyKey) -> KeyRecord | None:
        return self.keys.find(key)

    def with_attachments(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(s) for s in self.states.values() if s.get("attachments")]

    def state(self, invoice_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.states.get(invoice_id))

    def invoice_no_taken(self, invoice_type: str, invoice_no: str, except_id: str | None) -> bool:
        return any(s["type"] == invoice_type and s.get("invoice_no") == invoice_no
                   and s["status"] in (ACTIVE, "credited") and s["id"] != except_id
                   for s in self.states.values())

    def next_number(self, year: int) -> str:
        return f"INV-{year}-{next(self._numbers):06d}"

    def events(self, invoice_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        events = self.log.stream(invoice_id, after_version=after_version)
        return events if not events or events[0]["stream_type"] == STREAM_INVOICE else []

    def state_breaks(self, invoice_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        broken = []
        for invoice_id in self.states if invoice_ids is None else invoice_ids:
            stored, folded = self.states.get(invoice_id), self.load(invoice_id)
            if stored is not None and stored != folded.to_dict():
                broken.append({"invoice_id": invoice_id, "version": folded.version,
                               "reason": "state document differs from the fold of its events"})
        return broken


class FakeSettingsRepository:
    def __init__(self, log: InMemoryEventLog) -> None:
        self.log = log
        self.settings: dict[str, Setting] = {}

    def get(self, kind: str, key: str) -> Setting | None:
        return copy.deepcopy(self.settings.get(setting_stream(kind, key)))

    def all(self, kind: str) -> list[Setting]:
        return sorted((copy.deepcopy(s) for s in self.settings.values() if s.kind == kind),
                      key=lambda s: s.key)

    def catalog(self) -> dict[str, dict[str, Setting]]:
        return {kind: {s.key: s for s in self.all(kind)} for kind in ("invoice_type", "custom_field")}

    def save(self, setting: Setting, meta: Metadata) -> list[dict[str, Any]]:
        try:
            envelopes = self.log.append(setting.id, setting.stream_type(), setting.head,
                                        setting.pending, meta)
        except ConcurrencyConflict:
            if setting.version == 0:
                raise Conflict({"key": [f"{setting.key!r} exists already"]}) from None
            raise
        for envelope in envelopes:
            setting.apply(envelope)
        setting.pending.clear()
        self.settings[setting.id] = copy.deepcopy(setting)
        return envelopes


class FakeCustomerRepository:
    """Customers: streams in the log plus their state, searched like the adapter's."""

    record_type: type[Record] = Customer

    def __init__(self, log: InMemoryEventLog, keys: FakeIdempotencyKeys | None = None) -> None:
        self.log = log
        self.states: dict[str, dict[str, Any]] = {}
        self.keys = keys or FakeIdempotencyKeys()  # the customer database's one collection

    def load(self, record_id: str) -> Any:
        events = self.log.stream(record_id)
        if events and events[0]["stream_type"] != self.record_type.STREAM_TYPE:
            raise NotFound(f"{self.record_type.STREAM_TYPE} {record_id} not found")
        return self.record_type.replay(record_id, events)

    def save(self, record: Record, meta: Metadata,
             key: IdempotencyKey | None = None) -> list[dict[str, Any]]:
        def write_state(after: Record) -> None:
            self.states[after.id] = after.to_dict()

        return save_aggregate(self.log, record, meta, write_state, self.keys, key)

    def get(self, record_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.states.get(record_id))

    def created_with(self, key: IdempotencyKey) -> KeyRecord | None:
        return self.keys.find(key)

    def page(self, name_contains: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
        after = decode_cursor(cursor) if cursor else ""
        needle = (name_contains or "").strip().casefold()
        keyed = sorted((f"{s['name'].casefold()}\x01{s['id']}", s) for s in self.states.values())
        matching = [(key, s) for key, s in keyed
                    if key > after and needle in s["name"].casefold()]
        items = [copy.deepcopy(s) for _, s in matching[:limit]]
        next_cursor = encode_cursor(matching[limit - 1][0]) if len(matching) > limit else None
        return {"items": items, "next_cursor": next_cursor}


class FakeContractRepository(FakeCustomerRepository):
    """Contracts (numbers unique), stored like customers."""

    record_type = Contract

    def number_taken(self, number: str) -> bool:
        return any(s["number"] == number for s in self.states.values())


class FakePaymentRepository(FakeCustomerRepository):
    """Payments received, stored like customers."""

    record_type = Payment


class FakeFlowRepository:
    """Approval flows: streams in the log plus each flow's current state."""

    def __init__(self, log: InMemoryEventLog) -> None:
        self.log = log
        self.states: dict[str, Flow] = {}

    def load(self, flow_id: str) -> Flow:
        events = self.log.stream(flow_id)
        if events and events[0]["stream_type"] != Flow.STREAM_TYPE:
            raise NotFound(f"flow {flow_id} not found")
        return Flow.replay(flow_id, events)

    def load_version(self, flow_id: str, version: int) -> Flow:
        events = self.log.stream(flow_id, up_to_version=version)
        if not events or events[0]["stream_type"] != Flow.STREAM_TYPE or len(events) < version:
            raise NotFound(f"flow {flow_id} has no version {version}")
        return Flow.replay(flow_id, events)

    def save(self, flow: Flow, meta: Metadata) -> list[dict[str, Any]]:
        def write_state(after: Flow) -> None:
            self.states[after.id] = after

        return save_aggregate(self.log, flow, meta, write_state)

    def all(self) -> list[dict[str, Any]]:
        flows = sorted(self.states.values(), key=lambda f: (f.to_dict()["created_at"], f.id))
        return [f.to_dict() for f in flows]

    def active(self) -> list[dict[str, Any]]:
        return [f.rule() for f in self.states.values() if f.definition.get("active")]


class FakeNotificationStore:
    """The notifications a request's appends cause (written by FakeRequestRepository)."""

    MAX_LIST = 500

    def __init__(self) -> None:
        self.notes: dict[str, dict[str, Any]] = {}

    def add(self, request: ApprovalRequest, notes: list[dict[str, Any]]) -> None:
        for i, note in enumerate(notes):
            note_id = f"{request.id}:{request.version}:{i}"
            self.notes[note_id] = dict(note, id=note_id, created_at=request.updated_at, read_by=[])

    def for_recipients(self, recipients: list[str], reader: str,
                       unread_only: bool) -> list[dict[str, Any]]:
        found = [n for n in self.notes.values() if n["recipient"] in recipients
                 and not (unread_only and reader in n["read_by"])]
        found.sort(key=lambda n: n["id"])
        found.sort(key=lambda n: n["created_at"] or "", reverse=True)
        return [{**{k: v for k, v in n.items() if k != "read_by"}, "read": reader in n["read_by"]}
                for n in found[:self.MAX_LIST]]

    def mark_read(self, ids: list[str], recipients: list[str], reader: str) -> int:
        matched = [self.notes[i] for i in dict.fromkeys(ids)
                   if i in self.notes and self.notes[i]["recipient"] in recipients]
        for note in matched:
            if reader not in note["read_by"]:
                note["read_by"].append(reader)
        return len(matched)


class FakeWebhooks:
    def __init__(self) -> None:
        self.hooks: dict[str, dict[str, Any]] = {}

    def add(self, webhook: Mapping[str, Any]) -> None:
        self.hooks[webhook["id"]] = copy.deepcopy(dict(webhook))

    def all(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(h) for h in sorted(self.hooks.values(), key=lambda h: h["created_at"])]

    def delete(self, webhook_id: str) -> bool:
        return self.hooks.pop(webhook_id, None) is not None

    def for_kinds(self, kinds: Iterable[str]) -> list[dict[str, Any]]:
        wanted = set(kinds)
        return [copy.deepcopy(h) for h in self.hooks.values() if wanted & set(h["events"])]


class FakeDeliveries:
    """The webhook outbox: filled by FakeRequestRepository's saves, leased to senders."""

    def __init__(self, webhooks: FakeWebhooks) -> None:
        self.webhooks = webhooks
        self.rows: dict[str, dict[str, Any]] = {}

    def enqueue(self, events: list[dict[str, Any]], at: str) -> int:
        found = deliveries_for(self.webhooks.for_kinds({e["kind"] for e in events}), events, at)
        taken = [d["id"] for d in found if d["id"] in self.rows]
        if taken:
            raise Conflict(f"delivery {taken[0]} exists already")  # a duplicate key aborts
        self.rows.update({d["id"]: d for d in found})
        return len(found)

    def claim_due(self, now: str, lease_until: str) -> dict[str, Any] | None:
        due = [d for d in self.rows.values() if d["status"] == DELIVERY_PENDING
               and d["next_at"] <= now and (d["claimed_until"] is None or d["claimed_until"] <= now)]
        if not due:
            return None
        chosen = min(due, key=lambda d: d["next_at"])
        chosen["claimed_until"] = lease_until
        return {**{k: v for k, v in chosen.items() if k != "id"}, "_id": chosen["id"]}

    def finish(self, delivery_id: str, changes: Mapping[str, Any]) -> None:
        if delivery_id in self.rows:
            self.rows[delivery_id].update(dict(changes, claimed_until=None))

    def find(self, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
        rows = [d for d in self.rows.values() if status is None or d["status"] == status]
        rows.sort(key=lambda d: d["created_at"])
        return [{k: v for k, v in d.items() if k != "body"} for d in rows[:limit]]


class FakeRequestRepository:
    """Approval requests: streams in the log plus each request's state (the inbox keys
    ``involved`` and ``decided_in_stage`` included), and in the same append the
    notifications and webhook deliveries it causes."""

    MAX_LIST = 500

    def __init__(self, log: InMemoryEventLog, notifications: FakeNotificationStore | None = None,
                 outbox: FakeDeliveries | None = None) -> None:
        self.log = log
        self.notifications = notifications or FakeNotificationStore()
        self.outbox = outbox
        self.states: dict[str, dict[str, Any]] = {}

    def load(self, request_id: str) -> ApprovalRequest:
        events = self.log.stream(request_id)
        if events and events[0]["stream_type"] != ApprovalRequest.STREAM_TYPE:
            raise NotFound(f"request {request_id} not found")
        return ApprovalRequest.replay(request_id, events)

    def save(self, request: ApprovalRequest, meta: Metadata) -> list[dict[str, Any]]:
        before = copy.deepcopy(request)

        def write_state(after: ApprovalRequest) -> None:
            notes = notifications_for(before, after)
            if notes and self.outbox is not None:
                self.outbox.enqueue(webhook_events(after, notes), str(after.updated_at))
            self.notifications.add(after, [n.to_dict() for n in notes])
            self.states[after.id] = dict(after.to_dict(), involved=after.involved(),
                                         decided_in_stage=after.decided_in_stage())

        return save_aggregate(self.log, request, meta, write_state)

    def state(self, request_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.states.get(request_id))

    def for_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        found = [s for s in self.states.values() if s["invoice_id"] == invoice_id]
        return copy.deepcopy(sorted(found, key=lambda s: s["invoice_version"]))

    def latest_for_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        found = self.for_invoice(invoice_id)
        return found[-1] if found else None

    def due(self, now: str, limit: int = 100) -> list[str]:
        found = [s for s in self.states.values() if s["status"] == PENDING
                 and isinstance(s.get("due_at"), str) and s["due_at"] <= now]
        return [s["id"] for s in sorted(found, key=lambda s: s["due_at"])][:limit]

    def waiting_on_any(self, entries: Iterable[str]) -> list[dict[str, Any]]:
        wanted = set(entries)
        return self._newest_first(s for s in self.states.values() if wanted & set(s["waiting_on"]))

    def find(self, status: str | None, involving: Iterable[str] | None) -> list[dict[str, Any]]:
        wanted = None if involving is None else set(involving)
        return self._newest_first(s for s in self.states.values()
                                  if (status is None or s["status"] == status)
                                  and (wanted is None or wanted & set(s["involved"])))

    def _newest_first(self, states: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        found = sorted(states, key=lambda s: s["created_at"], reverse=True)
        return copy.deepcopy(found[:self.MAX_LIST])


class RequestStates:
    """Approval requests as their state documents only (the reads the reconcile and the
    invoice's report checks make: ``state``, ``latest_for_invoice``, ``find``)."""

    def __init__(self, *requests: dict[str, Any]) -> None:
        self.requests = {r["id"]: r for r in requests}

    def state(self, request_id: str) -> dict[str, Any] | None:
        return self.requests.get(request_id)

    def latest_for_invoice(self, invoice_id: str) -> dict[str, Any] | None:
        found = [r for r in self.requests.values() if r["invoice_id"] == invoice_id]
        return max(found, key=lambda r: r["invoice_version"]) if found else None

    def find(self, status: str | None, involving: Any) -> list[dict[str, Any]]:
        return [r for r in self.requests.values() if status is None or r["status"] == status]


class FakeReactionRepositories:
    """What the invoice-event reaction works with (ports.ReactionRepositories), over the
    fake flow and request repositories and an invoice replica held in memory."""

    def __init__(self, flows: FakeFlowRepository, requests: FakeRequestRepository) -> None:
        self.flows, self.requests = flows, requests
        self.invoices: dict[str, dict[str, Any]] = {}

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.invoices.get(invoice_id))

    def put_invoice(self, state: Mapping[str, Any]) -> None:
        self.invoices[state["id"]] = copy.deepcopy(dict(state))

    def active_flows(self) -> list[dict[str, Any]]:
        return self.flows.active()

    def pending_requests(self, invoice_id: str, held: bool) -> list[str]:
        return [s["id"] for s in self.requests.states.values() if s["invoice_id"] == invoice_id
                and s["status"] == PENDING and bool(s.get("hold")) == held]

    def load_request(self, request_id: str) -> ApprovalRequest:
        return self.requests.load(request_id)

    def save_request(self, request: ApprovalRequest, meta: Metadata) -> None:
        self.requests.save(request, meta)


class FakeCustomerDirectory:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Mapping[str, Any]]] = {
            "customer": {}, "contract": {}, "payment": {}}

    def add(self, kind: str, record_id: str, **values: Any) -> str:
        self.records[kind][record_id] = {"id": record_id, **values}
        return record_id

    def customer(self, customer_id: str) -> Mapping[str, Any] | None:
        return self.records["customer"].get(customer_id)

    def contract(self, contract_id: str) -> Mapping[str, Any] | None:
        return self.records["contract"].get(contract_id)

    def payment(self, payment_id: str) -> Mapping[str, Any] | None:
        return self.records["payment"].get(payment_id)


def synthetic_events(streams: int, per_stream: int, prefix: str = "inv") -> list[dict[str, Any]]:
    """Hash-chained wire envelopes of ``streams`` streams, interleaved in position order
    (stream by stream per round, as many writers would leave them)."""
    meta = Metadata(actor={"id": "user-1", "name": "测试"}, correlation_id="c-1")
    heads = {f"{prefix}_{i:06d}": StreamHead() for i in range(streams)}
    events, position = [], 0
    for round_ in range(per_stream):
        for stream_id, head in heads.items():
            position += 1
            pending = [PendingEvent("InvoiceFieldsChanged",
                                    {"changes": {"amount": {"from": str(round_), "to": f"{round_ + 1}.50"}}})]
            envelope = build_envelopes(stream_id, "invoice", head, pending, meta,
                                       "2026-05-01T08:00:00.000000+00:00", position)[0]
            heads[stream_id] = StreamHead(envelope["version"], envelope["hash"])
            events.append(envelope_to_wire(envelope))
    return events


class PagedEventSource:
    """What an auditor's RPC proxy offers of a service: ``read_events`` pages."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = sorted(events, key=lambda e: e["position"])
        self.positions = [e["position"] for e in self.events]

    def read_events(self, after_position: int = 0, limit: int = 1000) -> dict[str, Any]:
        start = bisect.bisect_right(self.positions, after_position)
        page = self.events[start:start + limit]
        return {"events": page, "last_position": page[-1]["position"] if page else after_position}


class InMemoryAttachmentStore:
    """The attachment files in a dict (tests change or delete them to test verify)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, attachment_id: str, invoice_id: str, filename: str, content_type: str,
            content: bytes) -> None:
        self.files[attachment_id] = bytes(content)

    def get(self, attachment_id: str) -> bytes | None:
        return self.files.get(attachment_id)

    def delete(self, attachment_id: str) -> None:
        self.files.pop(attachment_id, None)


class InMemoryCatchUpCheckpoint:
    """A consumer's catch-up checkpoint (shared.events.catchup.Checkpoint); ``applied``
    stands for the tracker's applied position (``consumer_positions``)."""

    def __init__(self) -> None:
        self.position, self.complete, self.applied = 0, False, 0

    def resume_position(self) -> int:
        return resume_position(self.position, self.complete, self.applied)

    def advance(self, position: int, complete: bool = False) -> None:
        self.position = max(self.position, position)
        self.complete = self.complete or complete
