"""Invoice use cases: load -> decide -> save. No transport code here.

Inputs arrive already shaped by the schemas (types, lengths, formats); this layer checks
what needs the world: permissions and data scope, active invoice types, links to
customers/contracts/payments, custom field definitions, invoice_no uniqueness, versions.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from invoice.domain import events as ev
from invoice.domain.attachments import MAX_SIZE, sniff
from invoice.domain.credit import credit_note
from invoice.domain.history import history_lines
from invoice.domain.importing import CREATED, OK, AlreadyImported, ImportRow, failed, skipped
from invoice.domain.model import (
    INVOICE_FIELDS,
    Invoice,
    custom_key,
    initial_fields,
    only_filled_values,
)
from invoice.domain.settings import (
    Setting,
    missing_required,
    validate_custom_values,
)
from invoice.domain.vat import tax_figures
from invoice.ports import (
    AttachmentStore,
    CustomerDirectory,
    EventLog,
    FlowRules,
    InvoiceRepository,
    SettingsRepository,
)
from shared.auth import Actor, Policy
from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound, ValidationError
from shared.events.envelope import Metadata, envelope_to_wire, metadata_for
from shared.events.repository import SAVE_ATTEMPTS, decide_and_save
from shared.flow_rules import first_triggered, holds
from shared.idempotency import IdempotencyKey, KeyTaken, earlier_record, split_key

LINK_FIELDS = ("customer_id", "contract_id", "payment_ids")
TAX_INPUTS = ("amount", "tax_rate", "lines")


def new_request_id() -> str:
    """A held change's approval request id, chosen when the change is proposed."""
    return f"apr_{uuid.uuid4().hex}"

RowTask = Callable[[], dict[str, Any]]
RowRunner = Callable[[Sequence[RowTask]], list[dict[str, Any]]]


def in_order(tasks: Sequence[RowTask]) -> list[dict[str, Any]]:
    """Run an import's rows one after the other (the default; the service runs them
    concurrently, see invoice.adapters.parallel)."""
    return [task() for task in tasks]


@dataclass
class InvoiceApplication:
    invoices: InvoiceRepository
    settings: SettingsRepository
    directory: CustomerDirectory
    log: EventLog
    policy: Policy
    actor: Actor
    correlation_id: str | None = None
    flows: FlowRules | None = None  # the approval flows' replica; None: no flows
    attachments: AttachmentStore | None = None
    run_rows: RowRunner = in_order  # how a committed import chunk's rows run
    _settings_seen: dict[str, dict[str, Setting]] | None = field(default=None, init=False)

    # -- invoices --------------------------------------------------------------------
    def create_invoice(self, values: Mapping[str, Any],
                       external_id: str | None = None) -> dict[str, Any]:
        """Check and record a new invoice. With ``idempotency_key`` in ``values``: the
        invoice that key created, if any; with ``external_id`` (an import) that id is
        stored in the same transaction (AlreadyImported when it was imported before)."""
        self.policy.require(self.actor, "invoice.create")
        key, values = split_key(self.actor.id, "create_invoice", values)
        if (earlier := self._created_earlier(key)) is not None:
            return earlier
        values = self._checked_new(values)
        number = self.invoices.next_number(dt.datetime.now(dt.timezone.utc).year)
        invoice_id = f"inv_{uuid.uuid4().hex}"
        fields = initial_fields(values)
        created = {"type": ev.INVOICE_CREATED, "data": {"fields": fields}}
        flow = self._holding_flow(created, dict(fields, id=invoice_id, number=number,
                                                status="active", approval_status="none"))
        held = None if flow is None else {"request_id": new_request_id(), "flow_id": flow["id"],
                                          "flow_version": int(flow["version"])}
        invoice = Invoice.create(invoice_id, number, values, held)
        try:
            if external_id is None:
                self.invoices.save(invoice, self._meta(), key)
            else:
                self.invoices.save_imported(invoice, self._meta(), external_id)
        except KeyTaken:
            return self._created_by(key)
        return invoice.to_dict()

    def _checked_new(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """A new invoice's values with their defaults, checked against the world as
        ``create_invoice`` checks them (an import's dry run stops here)."""
        values = dict(given)
        if values.get("owner_id") is None:
            values["owner_id"] = self.actor.id
        if values.get("department_id") is None:
            values["department_id"] = self.actor.department
        self._check_type(values["type"])
        values.update(tax_figures(values["amount"], values.get("tax_rate"), values.get("lines")))
        self._check_required(values["type"], values, None)
        self._check_links(values)
        values["custom"] = validate_custom_values(self._definitions(), values.get("custom") or {},
                                                  creating=True)
        self._check_invoice_no(values.get("type"), values.get("invoice_no"), None)
        return values

    def import_invoices(self, rows: list[ImportRow], commit: bool) -> list[dict[str, Any]]:
        """Per row, in order: ``ok`` (dry run) or ``created`` with ``invoice_id`` and
        ``number``; ``skipped`` when its external_id was imported before; ``error`` with
        the errors by field, exactly as ``create_invoice`` would refuse the row."""
        self.policy.require(self.actor, "invoice.create")
        known = self.invoices.imported([row.external_id for row in rows if row.external_id])
        if not commit:
            return [self._import_row(row, commit, known) for row in rows]
        # A commit runs its rows through ``run_rows`` (concurrently in the service: the
        # store's group commit then appends them in few transactions); a row repeating an
        # earlier row's external_id runs after the rest, so the earlier one is created.
        seen: set[str] = set()
        waves: tuple[list[int], list[int]] = ([], [])
        for n, row in enumerate(rows):
            repeat = row.external_id is not None and row.external_id in seen
            waves[repeat].append(n)
            if row.external_id:
                seen.add(row.external_id)
        results: dict[int, dict[str, Any]] = {}
        for wave in waves:
            answers = self.run_rows([functools.partial(self._import_row, rows[n], commit, known)
                                     for n in wave])
            results.update(zip(wave, answers, strict=True))
        return [results[n] for n in range(len(rows))]

    def _import_row(self, row: ImportRow, commit: bool, known: Mapping[str, str]) -> dict[str, Any]:
        if row.errors:
            return failed(row.errors)
        if row.external_id and row.external_id in known:
            return skipped(row.external_id, self._visible(known[row.external_id]))
        try:
            if not commit:
                self._checked_new(row.values)
                return {"status": OK}
            invoice = self.create_invoice(row.values, row.external_id)
            return {"status": CREATED, "invoice_id": invoice["id"], "number": invoice["number"]}
        except AlreadyImported as exc:        # imported meanwhile, by a parallel import
            return skipped(exc.external_id, self._visible(exc.invoice_id))
        except (ValidationError, Conflict) as exc:
            return failed(exc.args[0] if exc.args else "refused")
        except (Forbidden, NotFound) as exc:
            return failed(str(exc.args[0]) if exc.args else "refused")

    def _visible(self, invoice_id: str) -> str | None:
        state = self.invoices.state(invoice_id)
        if state is None or not self.policy.covers(self.actor, "view", state.get("owner_id"),
                                                   state.get("department_id")):
            return None
        return invoice_id

    def create_credit_note(self, invoice_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """A credit note (红字发票) of ``invoice_id``: ``{reason, amount?, lines?,
        issued_on?, invoice_no?}``; the note and the original's CreditNoteIssued are
        written in one transaction (a lost race is decided again on the new state)."""
        self.policy.require(self.actor, "invoice.credit")
        key, data = split_key(self.actor.id, "create_credit_note", dict(data, invoice_id=invoice_id))
        if (earlier := self._created_earlier(key)) is not None:
            return earlier
        for attempt in range(SAVE_ATTEMPTS):
            original = self.invoices.load(invoice_id)
            state = original.to_dict()
            self._require_scope(state, "view")
            self._require_scope(state, "edit", error=Forbidden)
            original.require_creditable()
            issued_on = data.get("issued_on") or dt.datetime.now(dt.timezone.utc).date().isoformat()
            note = credit_note(original, data.get("amount"), data.get("lines"), issued_on,
                               data.get("invoice_no"))
            self._check_invoice_no(note.values["type"], note.values["invoice_no"], None)
            note_id = f"inv_{uuid.uuid4().hex}"
            original.issue_credit(note_id, note.amount, note.tax_amount, data["reason"])
            created = Invoice.create(note_id, self.invoices.next_number(int(issued_on[:4])),
                                     note.values, credits={"invoice_id": invoice_id,
                                                           "reason": data["reason"]})
            try:
                self.invoices.save_together(original, created, self._meta(), key)
                return created.to_dict()
            except KeyTaken:
                return self._created_by(key)
            except ConcurrencyConflict:
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def update_invoice(self, invoice_id: str, changes: Mapping[str, Any],
                       expected_version: int | None) -> dict[str, Any]:
        """Apply several field changes as one event (``custom.<key>`` keys allowed)."""
        def decide(invoice: Invoice) -> None:
            flat = self._checked_changes(invoice, changes)
            diff = invoice.changes_for(flat)
            flow = self._holding_flow({"type": ev.INVOICE_FIELDS_CHANGED, "data": {"changes": diff}},
                                      invoice.proposed_state(diff)) if diff else None
            if flow is None:
                invoice.change(flat)
            else:
                invoice.propose(flat, new_request_id(), flow)
        return self._edit(invoice_id, expected_version, decide)

    def void_invoice(self, invoice_id: str, reason: str,
                     expected_version: int | None) -> dict[str, Any]:
        self.policy.require(self.actor, "invoice.void")
        return self._edit(invoice_id, expected_version, lambda invoice: invoice.void(reason))

    def record_approval_status(self, invoice_id: str, status: str, request_id: str | None,
                               trigger_version: int | None = None,
                               request_version: int | None = None) -> dict[str, Any]:
        """Internal: the approval service reports an outcome (service role only); a
        report ordered before the one applied last changes nothing (Invoice.set_approval_status)."""
        self.policy.require(self.actor, "approval.status")
        return self._edit(invoice_id, None,
                          lambda invoice: invoice.set_approval_status(
                              status, request_id, trigger_version, request_version),
                          check_edit_scope=False)

    def revise_change(self, invoice_id: str, request_id: str,
                      changes: Mapping[str, Any]) -> dict[str, Any]:
        """The submitter revises a held change sent back to them (approval's
        ``resubmit``): validated like an update, limited to the held fields; recorded as
        InvoiceChangeProposed again with the same request id."""
        def decide(invoice: Invoice) -> None:
            invoice.revise(request_id, self._checked_changes(invoice, changes), self.actor.id)
        return self._edit(invoice_id, None, decide)

    def settle_change(self, invoice_id: str, request_id: str, outcome: str, comment: str,
                      approvers: list[dict[str, Any]]) -> dict[str, Any]:
        """Internal: a held change's request ended (service role only). ``approved``
        applies it, the submitter as the actor; ``rejected`` / ``withdrawn`` discard it."""
        self.policy.require(self.actor, "approval.status")

        def save(invoice: Invoice) -> None:
            submitter = (invoice.pending_change or {}).get("proposed_by") or {}
            meta = self._meta()
            if outcome == "approved" and submitter:  # the change is the submitter's
                meta = Metadata(actor={"id": submitter.get("id"), "name": submitter.get("name"),
                                       "reported_by": self.actor.id},
                                correlation_id=self.correlation_id)
            self.invoices.save(invoice, meta)

        invoice = decide_and_save(
            lambda: self.invoices.load(invoice_id),
            lambda invoice: invoice.settle(request_id, outcome, comment, approvers), save, None,
            record_id=invoice_id)
        return invoice.to_dict()

    def replicate_flow(self, flow: Mapping[str, Any]) -> bool:
        """Internal: keep an approval flow's trigger rule (service role only)."""
        self.policy.require(self.actor, "approval.status")
        if self.flows is None:
            return False
        return self.flows.put(flow)

    def get_invoice(self, invoice_id: str, only_filled: bool = False,
                    as_of: int | str | None = None) -> dict[str, Any]:
        # scope first, on the current state, whatever the arguments: an invoice the
        # actor may not see answers exactly as a missing one (no existence oracle)
        state = self.invoices.state(invoice_id)
        if state is None:
            raise NotFound(f"invoice {invoice_id} not found")
        self._require_scope(state, "view")
        if as_of is None:
            invoice_dict = state
        else:
            invoice = self._load_at(invoice_id, as_of)
            self._require_scope(invoice.to_dict(), "view")
            invoice_dict = invoice.to_dict()
        if only_filled:
            return only_filled_values(invoice_dict)
        return invoice_dict

    def history(self, invoice_id: str) -> list[dict[str, Any]]:
        events = self._readable_events(invoice_id, 0)
        return history_lines(events)

    def events(self, invoice_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        """An invoice's events; also an invoice type's or custom field's (stream id
        ``invoice_type-<key>`` / ``custom_field-<key>``), which consumers such as the
        search projector fetch when one of those events reaches them early."""
        if invoice_id.startswith((f"{ev.STREAM_INVOICE_TYPE}-", f"{ev.STREAM_CUSTOM_FIELD}-")):
            self.policy.require(self.actor, "history.read")
            found = self.log.stream(invoice_id, after_version)
            if not found and after_version == 0:
                raise NotFound(f"setting {invoice_id} not found")
            return [envelope_to_wire(e) for e in found]
        return [envelope_to_wire(e) for e in self._readable_events(invoice_id, after_version)]

    def _readable_events(self, invoice_id: str, after_version: int) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "history.read")
        state = self.invoices.state(invoice_id)
        if state is None:
            raise NotFound(f"invoice {invoice_id} not found")
        self._require_scope(state, "view")
        return self.invoices.events(invoice_id, after_version)

    def read_events(self, after_position: int = 0, limit: int = 1000) -> dict[str, Any]:
        self.policy.require(self.actor, "history.read")
        events = [envelope_to_wire(e) for e in self.log.read_all(after_position, limit)]
        last = events[-1]["position"] if events else after_position
        return {"events": events, "last_position": last}

    def read_heads(self, after_stream_id: str, limit: int) -> dict[str, Any]:
        self.policy.require(self.actor, "history.read")
        return self.log.heads_page(after_stream_id, limit)

    def verify(self, invoice_id: str | None = None) -> dict[str, Any]:
        """Every chain, signature and stream head, every invoice's state document against
        the fold of its events, and every attachment file re-hashed against the sha256
        its InvoiceAttachmentAdded put into the chain (removed ones too: they are kept)."""
        self.policy.require(self.actor, "history.read")
        if invoice_id is None:
            report = self.log.verify(None)
            report["broken"] += self.invoices.state_breaks(None)
            states = list(self.invoices.with_attachments())
        else:
            self._readable_events(invoice_id, 0)  # exists and in scope
            report = self.log.verify([invoice_id])
            report["broken"] += self.invoices.state_breaks([invoice_id])
            states = [self.invoices.state(invoice_id) or {}]
        report["broken"] += [{"invoice_id": state["id"], "version": None, **b}
                             for state in states for b in self._attachment_breaks(state)]
        report["ok"] = not report["broken"]
        return report

    def _attachment_breaks(self, state: Mapping[str, Any]) -> list[dict[str, Any]]:
        breaks: list[dict[str, Any]] = []
        for attachment in state.get("attachments") or []:
            content = self.attachments.get(attachment["attachment_id"]) if self.attachments else None
            if content is None:
                reason = "attachment file missing"
            elif hashlib.sha256(content).hexdigest() != attachment["sha256"]:
                reason = "attachment file changed (its sha256 differs from the chain's)"
            else:
                continue
            breaks.append({"attachment_id": attachment["attachment_id"], "reason": reason})
        return breaks

    # -- attachments -----------------------------------------------------------------
    def add_attachment(self, invoice_id: str, filename: str, content: bytes) -> dict[str, Any]:
        """Store the file (type from its content), then record InvoiceAttachmentAdded
        with its sha256; a failed append drops the stored file again."""
        if self.attachments is None:
            raise RuntimeError("no attachment store configured")
        try:
            content_type = sniff(content)
        except ValueError as exc:
            raise ValidationError.field("content", str(exc)) from None
        if len(content) > MAX_SIZE:
            raise ValidationError.field("content", f"at most {MAX_SIZE // (1024 * 1024)} MB")
        state = self.invoices.state(invoice_id)
        if state is None:
            raise NotFound(f"invoice {invoice_id} not found")
        self._require_scope(state, "view")
        self._require_scope(state, "edit", error=Forbidden)
        attachment_id = f"att_{uuid.uuid4().hex}"
        attachment: dict[str, Any] = {
            "attachment_id": attachment_id, "filename": filename, "content_type": content_type,
            "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        self.attachments.put(attachment_id, invoice_id, filename, content_type, content)
        try:
            invoice = self._edit(invoice_id, None, lambda inv: inv.add_attachment(attachment))
        except Exception:
            self.attachments.delete(attachment_id)
            raise
        return next(a for a in invoice["attachments"] if a["attachment_id"] == attachment_id)

    def list_attachments(self, invoice_id: str, include_removed: bool = False) -> list[dict[str, Any]]:
        """The invoice's attachments; removed ones only for ``history.read`` (auditors)."""
        if include_removed:
            self.policy.require(self.actor, "history.read")
        state = self.get_invoice(invoice_id)
        return [a for a in state.get("attachments") or [] if include_removed or not a.get("removed")]

    def get_attachment(self, invoice_id: str, attachment_id: str) -> dict[str, Any]:
        """One listed attachment with its bytes; view scope like ``get_invoice``; unknown,
        removed or its file missing → NotFound."""
        if self.attachments is None:
            raise RuntimeError("no attachment store configured")
        state = self.get_invoice(invoice_id)
        found = [a for a in state.get("attachments") or []
                 if a.get("attachment_id") == attachment_id and not a.get("removed")]
        content = self.attachments.get(attachment_id) if found else None
        if content is None:
            raise NotFound(f"attachment {attachment_id} of invoice {invoice_id} not found")
        return dict(found[0], content=content)

    def remove_attachment(self, invoice_id: str, attachment_id: str) -> dict[str, Any]:
        """Hide an attachment: InvoiceAttachmentRemoved; the file stays for auditors."""
        return self._edit(invoice_id, None, lambda inv: inv.remove_attachment(attachment_id))

    # -- helpers ---------------------------------------------------------------------
    def _created_earlier(self, key: IdempotencyKey | None) -> dict[str, Any] | None:
        """The invoice an earlier call with ``key`` created (as it is now), or None;
        Conflict naming ``idempotency_key`` if that call's payload was another."""
        if key is None:
            return None
        invoice_id = earlier_record(self.invoices.created_with(key), key)
        if invoice_id is None:
            return None
        state = self.invoices.state(invoice_id)
        if state is None:
            raise NotFound(f"invoice {invoice_id} not found")
        self._require_scope(state, "view")
        return state

    def _created_by(self, key: IdempotencyKey | None) -> dict[str, Any]:
        """After losing the race for ``key``: the winner's invoice."""
        earlier = self._created_earlier(key)
        if earlier is None:
            raise AssertionError("an idempotency key was taken but is not stored")
        return earlier

    def _checked_changes(self, invoice: Invoice, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The changes flattened (``custom.<key>``) and checked against the world."""
        flat = self._flatten_custom(changes)
        merged = {name: invoice.value_of(name) for name in INVOICE_FIELDS}
        merged.update({k: v for k, v in flat.items() if custom_key(k) is None})
        if "type" in flat:
            self._check_type(flat["type"])
        if any(name in flat for name in TAX_INPUTS):
            rate = flat.get("tax_rate") if "lines" in flat else merged.get("tax_rate")
            figures = tax_figures(merged["amount"], rate, merged.get("lines"))
            flat.update({k: v for k, v in figures.items() if k != "lines" or "lines" in flat})
        self._check_required(merged.get("type"), merged, flat)
        if any(name in flat for name in LINK_FIELDS):
            self._check_links(merged)
        custom_updates = {key: v for k, v in flat.items() if (key := custom_key(k))}
        if custom_updates:
            validated = validate_custom_values(self._definitions(), custom_updates,
                                               creating=False)
            for key in custom_updates:
                flat[f"custom.{key}"] = validated.get(key)
        if "invoice_no" in flat or "type" in flat:
            self._check_invoice_no(merged.get("type"), merged.get("invoice_no"), invoice.id)
        return flat

    def _holding_flow(self, event: Mapping[str, Any],
                      new_state: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The flow that holds this change, if the first flow it triggers holds."""
        flows = self.flows.active() if self.flows is not None else []
        if not flows:
            return None
        flow = first_triggered(flows, event, new_state)
        return flow if flow is not None and holds(flow) else None

    def _edit(self, invoice_id: str, expected_version: int | None,
              decide: Callable[[Invoice], Any], check_edit_scope: bool = True) -> dict[str, Any]:
        def load_in_scope() -> Invoice:
            invoice = self.invoices.load(invoice_id)
            state = invoice.to_dict()
            self._require_scope(state, "view")
            if check_edit_scope:
                self._require_scope(state, "edit", error=Forbidden)
            return invoice

        invoice = decide_and_save(load_in_scope, decide,
                                  lambda changed: self.invoices.save(changed, self._meta()),
                                  expected_version, record_id=invoice_id)
        return invoice.to_dict()

    def _load_at(self, invoice_id: str, as_of: int | str) -> Invoice:
        if isinstance(as_of, int):
            invoice = self.invoices.load(invoice_id, up_to_version=as_of)
            if invoice.version < as_of:
                raise NotFound(f"invoice {invoice_id} has no version {as_of}")
            return invoice
        return self.invoices.load(invoice_id, as_of=as_of)

    def _require_scope(self, state: Mapping[str, Any], action: str,
                       error: type[Exception] = NotFound) -> None:
        if not self.policy.covers(self.actor, action, state.get("owner_id"),
                                  state.get("department_id")):
            if error is NotFound:
                raise NotFound(f"invoice {state.get('id')} not found")
            raise Forbidden(f"you may not {action} invoice {state.get('id')}")

    def _catalog(self) -> dict[str, dict[str, Setting]]:
        """Types and custom field definitions, read once per use case."""
        if self._settings_seen is None:
            self._settings_seen = self.settings.catalog()
        return self._settings_seen

    def _check_type(self, type_key: str) -> None:
        setting = self._catalog()["invoice_type"].get(type_key)
        if setting is None or not setting.values.get("active"):
            raise ValidationError.field("type", f"{type_key!r} is not an active invoice type")

    def _check_required(self, type_key: str | None, values: Mapping[str, Any],
                        edited: Mapping[str, Any] | None) -> None:
        """The type's ``required_fields``: all on create, the edited ones on an edit."""
        setting = self._catalog()["invoice_type"].get(type_key or "")
        errors = missing_required(setting, values, edited) if setting is not None else {}
        if errors:
            raise ValidationError(errors)

    def _check_links(self, values: Mapping[str, Any]) -> None:
        customer_id = values.get("customer_id")
        if not customer_id or self.directory.customer(customer_id) is None:
            raise ValidationError.field("customer_id", f"customer {customer_id!r} does not exist")
        contract_id = values.get("contract_id")
        if contract_id:
            contract = self.directory.contract(contract_id)
            if contract is None:
                raise ValidationError.field("contract_id", f"contract {contract_id!r} does not exist")
            if contract.get("customer_id") != customer_id:
                raise ValidationError.field(
                    "contract_id", f"contract {contract_id!r} belongs to another customer")
        errors: dict[int, list[str]] = {}
        for index, payment_id in enumerate(values.get("payment_ids") or []):
            payment = self.directory.payment(payment_id)
            if payment is None:
                errors[index] = [f"payment {payment_id!r} does not exist"]
            elif payment.get("customer_id") != customer_id:
                errors[index] = [f"payment {payment_id!r} belongs to another customer"]
            elif contract_id and payment.get("contract_id") != contract_id:
                errors[index] = [f"payment {payment_id!r} belongs to another contract"]
        if errors:
            raise ValidationError({"payment_ids": errors})

    def _check_invoice_no(self, invoice_type: str | None, invoice_no: str | None,
                          except_id: str | None) -> None:
        if invoice_type and invoice_no and \
                self.invoices.invoice_no_taken(invoice_type, invoice_no, except_id):
            raise Conflict({"invoice_no": [
                f"{invoice_no!r} is already used by an active invoice of type {invoice_type!r}"]})

    def _definitions(self) -> dict[str, dict[str, Any]]:
        return {key: s.values for key, s in self._catalog()["custom_field"].items()}

    @staticmethod
    def _flatten_custom(changes: Mapping[str, Any]) -> dict[str, Any]:
        flat = {k: v for k, v in changes.items() if k != "custom"}
        for key, value in (changes.get("custom") or {}).items():
            flat[f"custom.{key}"] = value
        return flat

    def _meta(self) -> Metadata:
        return metadata_for(self.actor, self.correlation_id)
