"""Approval event types. Names are past tense; each carries a schema version (1).

Flow streams (stream_type ``approval_flow``, id ``flow_<hex>``):
- ApprovalFlowDefined: {name, watched_fields, trigger_on_create, condition,
  condition_kinds, stages: [{name, approvers, mode}], cc, active}
- ApprovalFlowUpdated: {changes: {<key>: {from, to}}}  (every change = a new flow version)

Request streams (stream_type ``approval_request``, id ``apr_<triggering event id>``):
- ApprovalRequestOpened: {invoice_id, invoice_version, trigger_event_id, trigger_type,
  flow_id, flow_version, flow_name, changed_fields: {field: {from, to}},
  stages: [{name, approvers, mode}], cc, submitter: {id, name, roles}, hold}
  (``hold``: the invoice holds the change until this request is approved; the request
  id is the one the invoice chose, not ``apr_<event id>``)
- ApprovalGiven: {stage, user: {id, name}, entries, comment}
- ApprovalStageAdvanced: {from_stage, to_stage}
- ApprovalRequestApproved: {stage}
- ApprovalRequestRejected: {stage, user, comment}
- ApprovalRequestWithdrawn: {user, comment}
- ApprovalRequestDelegated: {stage, user, to_user_id, entries, comment}
- ApprovalRequestSuperseded: {by_request_id}
- ApprovalRequestCancelled: {reason}  (the invoice was voided while it was pending)
- ApprovalApproversAdded: {stage, where: before | after | with, approvers, user, comment}
  (加签; ``before`` / ``after`` insert a stage named 加签, mode ``all``)
- ApprovalRequestSentBack: {stage, to_stage (null: to the submitter), user, comment} (退回)
- ApprovalRequestResubmitted: {user, comment, changes (the revised held change or null)}
- ApprovalReminderSent: {stage, user, entries} (催办)
- ApprovalStageTimedOut: {stage, action: remind | escalate | approve | reject, due_at,
  user (the timer), escalate_to} (then ApprovalStageAdvanced / ApprovalRequestApproved
  for ``approve``, ApprovalRequestRejected for ``reject``)
"""
from __future__ import annotations

from shared.events.upcasting import UpcasterRegistry
from shared.invoice_events import (  # noqa: F401 - the invoice events this service reacts to
    INVOICE_APPROVAL_STATUS_CHANGED,
    INVOICE_CHANGE_APPLIED,
    INVOICE_CHANGE_DISCARDED,
    INVOICE_CHANGE_PROPOSED,
    INVOICE_CREATED,
    INVOICE_EVENTS,
    INVOICE_FIELDS_CHANGED,
    INVOICE_VOIDED,
    STREAM_INVOICE,
)

STREAM_FLOW = "approval_flow"
STREAM_REQUEST = "approval_request"

FLOW_DEFINED = "ApprovalFlowDefined"
FLOW_UPDATED = "ApprovalFlowUpdated"

REQUEST_OPENED = "ApprovalRequestOpened"
APPROVAL_GIVEN = "ApprovalGiven"
STAGE_ADVANCED = "ApprovalStageAdvanced"
REQUEST_APPROVED = "ApprovalRequestApproved"
REQUEST_REJECTED = "ApprovalRequestRejected"
REQUEST_WITHDRAWN = "ApprovalRequestWithdrawn"
REQUEST_DELEGATED = "ApprovalRequestDelegated"
REQUEST_SUPERSEDED = "ApprovalRequestSuperseded"
REQUEST_CANCELLED = "ApprovalRequestCancelled"
APPROVERS_ADDED = "ApprovalApproversAdded"
REQUEST_SENT_BACK = "ApprovalRequestSentBack"
REQUEST_RESUBMITTED = "ApprovalRequestResubmitted"
REMINDER_SENT = "ApprovalReminderSent"
STAGE_TIMED_OUT = "ApprovalStageTimedOut"

# Request events after which the invoice's approval_status may have to change. Not
# REQUEST_SUPERSEDED: it is committed with the superseding request's REQUEST_OPENED.
OUTCOME_EVENTS = (REQUEST_OPENED, REQUEST_APPROVED, REQUEST_REJECTED, REQUEST_WITHDRAWN)



upcasters = UpcasterRegistry()
