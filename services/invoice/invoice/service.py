"""The invoice service's RPC entrypoints: load with a schema, call one use case, dump.

Every call needs context data ``authorization: "Bearer <JWT>"`` (see docs/rpc.md).
"""
from __future__ import annotations

import base64
from typing import Any

from nameko.dependency_providers import Config

from invoice.adapters.customers import ReplicatedCustomerDirectory
from invoice.adapters.parallel import green_runner
from invoice.application import InvoiceApplication, RowRunner, SettingsApplication, in_order
from invoice.bootstrap import seed_defaults
from invoice.dependencies import InvoiceStorage, InvoiceStore
from invoice.domain.importing import MAX_ROWS_PER_CALL, ImportRow
from invoice.schemas import (
    AttachmentInput,
    CreditNoteInput,
    CustomFieldChanges,
    CustomFieldInput,
    FlowRuleInput,
    ImportRowInput,
    InvoiceInput,
    InvoiceTypeChanges,
    InvoiceTypeInput,
    SettleInput,
    VoidInput,
    dump_invoice,
    load_changes,
)
from shared import ops
from shared.auth import Actor, Policy
from shared.bootstrap import on_start
from shared.dates import parse_timestamp
from shared.errors import NotFound, ValidationError
from shared.events.consumer import event_stream
from shared.events.envelope import to_wire
from shared.events.store import MAX_GROUP
from shared.rpc import CorrelationId, CurrentActor, PolicyProvider, RpcProxy, rpc, system_rpc
from shared.schemas import ReadEventsInput, changes_arg, flag_arg, heads_args, id_arg, load, version_arg


class SCHEMAS:
    """One instance of each request schema: marshmallow schemas are reusable."""

    invoice_input = InvoiceInput()
    import_row_input = ImportRowInput()
    credit_note_input = CreditNoteInput()
    attachment_input = AttachmentInput()
    void_input = VoidInput()
    read_events_input = ReadEventsInput()
    invoice_type_input = InvoiceTypeInput()
    invoice_type_changes = InvoiceTypeChanges()
    custom_field_input = CustomFieldInput()
    custom_field_changes = CustomFieldChanges()
    settle_input = SettleInput()
    flow_rule_input = FlowRuleInput()


# rows of one import call run at once: as many as one group commit takes
IMPORT_CONCURRENCY = MAX_GROUP
CUSTOMER_GETTERS = {"customer": "get_customer", "contract": "get_contract",
                    "payment": "get_payment"}


class InvoiceService(ops.OpsEndpoints):
    name = "invoice"

    actor: Actor = CurrentActor()
    correlation_id: str = CorrelationId()
    policy: Policy = PolicyProvider()
    storage: InvoiceStorage = InvoiceStore()
    customer_rpc = RpcProxy("customer")
    config = Config()

    @on_start
    def bootstrap(self) -> None:
        """Seed the defaults once at start-up (idempotent: another instance may too)."""
        seed_defaults(self.storage.settings, self.policy)

    def _app(self, run_rows: RowRunner = in_order) -> InvoiceApplication:
        directory = ReplicatedCustomerDirectory(self.storage.replica, self._lookup_customer_side)
        return InvoiceApplication(self.storage.invoices, self.storage.settings, directory,
                                  self.storage.log, self.policy, self.actor, self.correlation_id,
                                  flows=self.storage.flows, attachments=self.storage.attachments,
                                  run_rows=run_rows)

    def _settings(self) -> SettingsApplication:
        return SettingsApplication(self.storage.settings, self.policy, self.actor, self.correlation_id)

    def _lookup_customer_side(self, kind: str, record_id: str) -> Any:
        try:
            return getattr(self.customer_rpc, CUSTOMER_GETTERS[kind])(record_id)
        except NotFound:
            return None

    # -- invoices --------------------------------------------------------------------
    @rpc
    def create_invoice(self, data: Any) -> dict[str, Any]:
        """Record an invoice. Example: ``{"title": "May service fee", "type": "vat_special",
        "amount": "1200.00", "issued_on": "2026-05-20", "customer_id": "cus_…"}``."""
        return dump_invoice(self._app().create_invoice(load(SCHEMAS.invoice_input, data)))

    @rpc
    def import_invoices(self, rows: Any, commit: Any = False) -> list[dict[str, Any]]:
        """Bulk import (at most 500 rows a call), each row ``create_invoice``'s data plus
        an optional ``external_id``. ``commit=False`` (a dry run) only checks:
        ``import_invoices([{"external_id": "erp-1", "title": "…", …}, {…}])`` ->
        ``[{"status": "ok"}, {"status": "error", "errors": {"amount": ["…"]}}]``;
        ``commit=True`` creates the valid rows (``{"status": "created", "invoice_id",
        "number"}``). A row whose ``external_id`` was imported before answers
        ``{"status": "skipped", "message", "invoice_id"?}`` and creates nothing."""
        if not isinstance(rows, list) or len(rows) > MAX_ROWS_PER_CALL:
            raise ValidationError.field("rows", f"a list of at most {MAX_ROWS_PER_CALL} rows")
        # rows run concurrently: group commit appends them in few store transactions
        return self._app(green_runner(IMPORT_CONCURRENCY)).import_invoices(
            [_import_row(row) for row in rows], flag_arg(commit, "commit"))

    @rpc
    def create_credit_note(self, invoice_id: str, data: Any) -> dict[str, Any]:
        """A credit note (红字发票) of an invoice, with negative amounts:
        ``create_credit_note("inv_…", {"reason": "销售折让", "amount": "113.00"})``
        (``amount`` positive, the part credited, default all that remains; or ``lines``;
        ``issued_on``, ``invoice_no`` optional). Conflict when more than remains, when
        the invoice is a credit note, void or fully credited."""
        return dump_invoice(self._app().create_credit_note(
            _id(invoice_id), load(SCHEMAS.credit_note_input, data)))

    @rpc
    def update_field(self, invoice_id: str, field: Any, value: Any,
                     expected_version: int | None = None) -> dict[str, Any]:
        """Single-field edit: ``update_field("inv_…", "tracking_number", "SF123")``;
        ``field`` may be ``custom.<key>``. An equal value appends nothing."""
        if not isinstance(field, str) or not field:
            raise ValidationError.field("field", "must be a field name")
        changes = load_changes({field: value})
        return dump_invoice(self._app().update_invoice(
            _id(invoice_id), changes, version_arg(expected_version)))

    @rpc
    def update_invoice(self, invoice_id: str, changes: Any,
                       expected_version: int | None = None) -> dict[str, Any]:
        """Several fields in one event: ``{"courier": "SF", "tracking_number": "SF1"}``."""
        return dump_invoice(self._app().update_invoice(
            _id(invoice_id), load_changes(changes), version_arg(expected_version)))

    @rpc
    def void_invoice(self, invoice_id: str, reason: Any,
                     expected_version: int | None = None) -> dict[str, Any]:
        """Void (作废) an invoice; its invoice_no becomes free for its type again."""
        loaded = load(SCHEMAS.void_input, {"reason": reason})
        return dump_invoice(self._app().void_invoice(
            _id(invoice_id), loaded["reason"], version_arg(expected_version)))

    @rpc
    def get_invoice(self, invoice_id: str, only_filled: bool = False,
                    as_of: Any = None) -> dict[str, Any]:
        """The invoice now, or ``as_of`` a version (int) or an ISO timestamp."""
        return dump_invoice(self._app().get_invoice(
            _id(invoice_id), flag_arg(only_filled, "only_filled"), _as_of(as_of)))

    @rpc
    def get_history(self, invoice_id: str) -> list[dict[str, Any]]:
        """Who changed what, when: ``[{version, event_type, occurred_at, actor, changes}]``."""
        return to_wire(self._app().history(_id(invoice_id)))

    @rpc
    def get_events(self, invoice_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        """The invoice's event envelopes as stored (hashes verify on them)."""
        return self._app().events(_id(invoice_id), version_arg(after_version, "after_version") or 0)

    @rpc
    def read_events(self, after_position: int = 0, limit: int = 1000) -> dict[str, Any]:
        """Every event in global order: ``{events, last_position}``."""
        args = load(SCHEMAS.read_events_input, {"after_position": after_position, "limit": limit})
        return self._app().read_events(args["after_position"], args["limit"])

    @rpc
    def read_heads(self, after_stream_id: Any = "", limit: Any = 1000) -> dict[str, Any]:
        """Every stream's signed head (last version, hash, signature), in stream id
        order, for auditors (``python -m shared.audit`` compares the events with them):
        ``read_heads(after_stream_id="", limit=1000)`` -> ``{heads, last_stream_id}``."""
        return self._app().read_heads(*heads_args(after_stream_id, limit))

    @rpc
    def verify(self, invoice_id: str | None = None) -> dict[str, Any]:
        """Recompute the hash chains: ``{ok, checked, broken: [{invoice_id, version, reason}]}``."""
        return self._app().verify(None if invoice_id is None else _id(invoice_id))

    @rpc
    def add_attachment(self, invoice_id: str, filename: Any, content_base64: Any) -> dict[str, Any]:
        """Attach a file (the invoice's scan, PDF or OFD; ≤ 10 MB; the type is decided
        from the content: PDF, OFD, JPEG, PNG; executables refused):
        ``add_attachment("inv_…", "发票.pdf", "<base64>")`` ->
        ``{attachment_id, filename, content_type, size, sha256, added_at, added_by, removed}``."""
        loaded = load(SCHEMAS.attachment_input, {"filename": filename, "content_base64": content_base64})
        return to_wire(self._app().add_attachment(_id(invoice_id), loaded["filename"],
                                                  loaded["content_base64"]))

    @rpc
    def list_attachments(self, invoice_id: str, include_removed: bool = False) -> list[dict[str, Any]]:
        """The invoice's attachments (metadata); ``include_removed`` needs ``history.read``."""
        return to_wire(self._app().list_attachments(
            _id(invoice_id), flag_arg(include_removed, "include_removed")))

    @rpc
    def get_attachment(self, invoice_id: str, attachment_id: Any) -> dict[str, Any]:
        """One attachment with its content (view scope; unknown or removed → NotFound):
        ``{attachment_id, filename, content_type, size, sha256, added_at, added_by,
        removed, content_base64}``."""
        found = self._app().get_attachment(_id(invoice_id), id_arg(attachment_id, "attachment_id"))
        content = found.pop("content")
        return dict(to_wire(found), content_base64=base64.b64encode(content).decode("ascii"))

    @rpc
    def remove_attachment(self, invoice_id: str, attachment_id: Any) -> dict[str, Any]:
        """Hide an attachment (InvoiceAttachmentRemoved); file and record stay for auditors."""
        return dump_invoice(self._app().remove_attachment(
            _id(invoice_id), id_arg(attachment_id, "attachment_id")))

    @rpc
    def record_approval_status(self, invoice_id: str, status: Any, request_id: str | None = None,
                               trigger_version: Any = None, request_version: Any = None) -> dict[str, Any]:
        """Internal (service role): the approval outcome, as InvoiceApprovalStatusChanged;
        ``trigger_version`` / ``request_version`` order it (a report ordered before the
        one applied last changes nothing):
        ``record_approval_status("inv_…", "pending", "apr_…", 3, 1)`` -> the invoice."""
        if status not in ("none", "pending", "approved", "rejected"):
            raise ValidationError.field("status", "one of none, pending, approved, rejected")
        request = None if request_id is None else _id(request_id, "request_id")
        trigger, version = report_order_args(trigger_version, request_version)
        return dump_invoice(self._app().record_approval_status(_id(invoice_id), status, request,
                                                               trigger, version))

    @rpc
    def settle_change(self, invoice_id: str, request_id: Any, outcome: Any, comment: Any = "",
                      approvers: Any = None) -> dict[str, Any]:
        """Internal (service role): a held change's approval request ended. ``outcome``
        ``approved`` -> InvoiceChangeApplied; ``rejected`` | ``withdrawn`` ->
        InvoiceChangeDiscarded (a held creation is voided). A repeat changes nothing."""
        args = load(SCHEMAS.settle_input, {"request_id": request_id, "outcome": outcome,
                                           "comment": comment, "approvers": approvers or []})
        return dump_invoice(self._app().settle_change(
            _id(invoice_id), args["request_id"], args["outcome"], args["comment"],
            args["approvers"]))

    @rpc
    def revise_change(self, invoice_id: str, request_id: Any, changes: Any) -> dict[str, Any]:
        """The submitter's new values for their held change (called by approval's
        ``resubmit`` with the submitter's token): validated like ``update_invoice``."""
        return dump_invoice(self._app().revise_change(
            _id(invoice_id), id_arg(request_id, "request_id"), load_changes(changes)))

    @rpc
    def replicate_flow(self, flow: Any) -> bool:
        """Internal (service role): the approval service hands over a flow's trigger rule
        before its ``define_flow`` / ``update_flow`` returns (see docs/rpc.md, held changes)."""
        return self._app().replicate_flow(load(SCHEMAS.flow_rule_input, flow, name="flow"))

    # -- settings --------------------------------------------------------------------
    @rpc
    def list_invoice_types(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        """The invoice types (票据类型) with label and colour."""
        return self._settings().list_invoice_types(flag_arg(include_inactive, "include_inactive"))

    @rpc
    def create_invoice_type(self, data: Any) -> dict[str, Any]:
        """Admin: ``{"key": "voucher", "label": "凭证", "color": "#AA66CC",
        "required_fields": ["buyer_name"]}`` (``required_fields`` optional)."""
        loaded = load(SCHEMAS.invoice_type_input, data)
        return self._settings().create_invoice_type(loaded["key"], loaded["label"], loaded["color"],
                                                    loaded["required_fields"])

    @rpc
    def update_invoice_type(self, key: str, changes: Any) -> dict[str, Any]:
        """Admin: change ``label``, ``color``, ``active`` or ``required_fields``."""
        return self._settings().update_invoice_type(_id(key, "key"), changes_arg(SCHEMAS.invoice_type_changes, changes))

    @rpc
    def list_custom_fields(self) -> list[dict[str, Any]]:
        """The custom field definitions."""
        return self._settings().list_custom_fields()

    @rpc
    def define_custom_field(self, data: Any) -> dict[str, Any]:
        """Admin: ``{"key": "level", "label": "等级", "kind": "select", "options": ["A", "B"]}``."""
        return self._settings().define_custom_field(load(SCHEMAS.custom_field_input, data))

    @rpc
    def update_custom_field(self, key: str, changes: Any) -> dict[str, Any]:
        """Admin: change ``label``, ``options``, ``required`` or ``active``."""
        return self._settings().update_custom_field(_id(key, "key"), changes_arg(SCHEMAS.custom_field_changes, changes))

    # -- events from the customer service --------------------------------------------
    @event_stream("customer", batch=True)
    def on_customer_event(self, envelopes: list[dict[str, Any]]) -> None:
        """Keep the local customer/contract/payment replica used for link checks."""
        self.storage.tracker.handle_batch(envelopes, self.storage.replica.apply,
                                          self._fetch_customer_events)

    def _fetch_customer_events(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        with system_rpc(self.config, self.name) as rpc_client:
            return list(rpc_client.customer.get_events(stream_id, after_version))


def _import_row(row: Any) -> ImportRow:
    try:
        values = dict(load(SCHEMAS.import_row_input, row, name="row"))
    except ValidationError as exc:
        return ImportRow(errors=exc.messages)
    return ImportRow(values=values, external_id=values.pop("external_id", None))


def _id(value: Any, name: str = "invoice_id") -> str:
    return id_arg(value, name)


def report_order_args(trigger_version: Any, request_version: Any) -> tuple[int | None, int | None]:
    """Both or neither: a request's trigger version (>= 1) and its own version (>= 1)."""
    if trigger_version is None and request_version is None:
        return None, None
    for name, value in (("trigger_version", trigger_version), ("request_version", request_version)):
        if not version_arg(value, name):
            raise ValidationError.field(name, "a version >= 1, given with the other")
    return trigger_version, request_version


def _as_of(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        version = version_arg(value, "as_of")
        if not version:
            raise ValidationError.field("as_of", "a version starts at 1")
        return version
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ValidationError.field("as_of", f"a version number or a timestamp: {exc}") from None
