"""``/api/approval/…`` and ``/api/notifications``."""
from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.api.common import create, expected_version, json_object, resource_response
from gateway.http import json_response, params, route
from gateway.hub import ServiceHub
from gateway.idempotency import IdempotencyStore
from gateway.problems import bad_request
from gateway.schemas import (
    AddApproversBody,
    ApproveManyBody,
    DecisionBody,
    FlowGetQuery,
    MarkReadBody,
    NotificationsQuery,
    RequestListQuery,
    ResubmitBody,
    SendBackBody,
    WebhookBody,
)

TAG = "approval"
PER_REQUEST = {"type": "object", "additionalProperties": {"type": "object"},
               "description": 'request id → {"status": …} or {"error": exc_type, "message": …}'}


class ApprovalRoutes:
    services: ServiceHub
    idempotency: IdempotencyStore

    @route("GET", "/api/approval/flows", returns=["Flow"], tag=TAG)
    def list_flows(self, request: Request) -> Response:
        """Every approval flow, oldest first."""
        return json_response(self.services.approval.list_flows())

    @route("POST", "/api/approval/flows", status=201, body="Flow", returns="Flow", tag=TAG)
    def define_flow(self, request: Request) -> Response:
        """Admin: a new flow (watched fields, condition, stages, cc)."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.approval.define_flow(body),
                      lambda flow: f"/api/approval/flows/{flow['id']}")

    @route("GET", "/api/approval/flows/<flow_id>", query=FlowGetQuery(), returns="Flow", tag=TAG)
    def get_flow(self, request: Request, flow_id: str) -> Response:
        """One flow, or ``version`` of it; ``ETag``."""
        return resource_response(request, self.services.approval.get_flow(
            flow_id, params(request).get("version")))

    @route("PATCH", "/api/approval/flows/<flow_id>", body="Flow", returns="Flow", tag=TAG)
    def update_flow(self, request: Request, flow_id: str) -> Response:
        """Admin: change any flow field (a new version); ``If-Match``."""
        return resource_response(request, self.services.approval.update_flow(
            flow_id, json_object(request), expected_version=expected_version(request)))

    @route("GET", "/api/approval/requests", query=RequestListQuery(), returns=["ApprovalRequest"],
           tag=TAG)
    def list_requests(self, request: Request) -> Response:
        """``mine=true``: the caller's inbox; ``status`` filters."""
        args = params(request)
        return json_response(self.services.approval.list_requests(
            status=args.get("status"), mine=bool(args.get("mine"))))

    @route("GET", "/api/approval/requests/<request_id>", returns="ApprovalRequest", tag=TAG)
    def get_request(self, request: Request, request_id: str) -> Response:
        """One approval request with ``ETag``."""
        return resource_response(request, self.services.approval.get_request(request_id))

    @route("POST", "/api/approval/requests/<request_id>/<any(approve, reject, withdraw, delegate):decision>",
           body=DecisionBody(), returns="ApprovalRequest", tag=TAG)
    def decide(self, request: Request, request_id: str, decision: str) -> Response:
        """``approve``, ``reject`` (``comment`` required), ``withdraw``, ``delegate``
        (``to_user_id``). Body ``{comment, to_user_id}``; may be empty."""
        body = json_object(request) if request.content_length else {}
        comment = body.get("comment", "")
        approval = self.services.approval
        if decision == "delegate":
            result = approval.delegate(request_id, body.get("to_user_id"), comment)
        else:
            result = getattr(approval, decision)(request_id, comment)
        return resource_response(request, result)

    @route("POST", "/api/approval/requests/<request_id>/add_approvers", body=AddApproversBody(),
           returns="ApprovalRequest", tag=TAG)
    def add_approvers(self, request: Request, request_id: str) -> Response:
        """加签 by a current-stage approver: ``{approvers, where, comment}``, ``where``
        ``before`` | ``after`` | ``with``."""
        body = json_object(request)
        return resource_response(request, self.services.approval.add_approvers(
            request_id, body.get("approvers"), body.get("where"), body.get("comment", "")))

    @route("POST", "/api/approval/requests/<request_id>/send_back", body=SendBackBody(),
           returns="ApprovalRequest", tag=TAG)
    def send_back(self, request: Request, request_id: str) -> Response:
        """退回: ``{comment, to_stage}``; ``to_stage`` an earlier stage, or absent / null → to
        the submitter (status ``returned``)."""
        body = json_object(request) if request.content_length else {}
        return resource_response(request, self.services.approval.send_back(
            request_id, body.get("comment", ""), body.get("to_stage")))

    @route("POST", "/api/approval/requests/<request_id>/resubmit", body=ResubmitBody(),
           returns="ApprovalRequest", tag=TAG)
    def resubmit(self, request: Request, request_id: str) -> Response:
        """The submitter resubmits a returned request: ``{changes, comment}``."""
        body = json_object(request) if request.content_length else {}
        return resource_response(request, self.services.approval.resubmit(
            request_id, body.get("changes"), body.get("comment", "")))

    @route("POST", "/api/approval/requests/<request_id>/remind", returns="ApprovalRequest", tag=TAG)
    def remind(self, request: Request, request_id: str) -> Response:
        """催办 by the submitter; at most once per interval, else 409."""
        return resource_response(request, self.services.approval.remind(request_id))

    @route("POST", "/api/approval/requests/approve_many", body=ApproveManyBody(),
           returns=PER_REQUEST, tag=TAG)
    def approve_many(self, request: Request) -> Response:
        """``{request_ids, comment}``: each approved on its own; the per-id outcome."""
        body = json_object(request)
        return json_response(self.services.approval.approve_many(
            body.get("request_ids"), body.get("comment", "")))

    @route("GET", "/api/approval/webhooks", returns=["Webhook"], tag=TAG)
    def list_webhooks(self, request: Request) -> Response:
        """Admin: the webhooks (never their secrets)."""
        return json_response(self.services.approval.list_webhooks())

    @route("POST", "/api/approval/webhooks", status=201, body=WebhookBody(), returns="Webhook",
           tag=TAG)
    def define_webhook(self, request: Request) -> Response:
        """Admin: ``{url, secret, events, format}``."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.approval.define_webhook(body),
                      lambda hook: f"/api/approval/webhooks/{hook['id']}")

    @route("DELETE", "/api/approval/webhooks/<webhook_id>", returns="Deleted", tag=TAG)
    def delete_webhook(self, request: Request, webhook_id: str) -> Response:
        """Admin: stop pushing to a webhook."""
        return json_response(self.services.approval.delete_webhook(webhook_id))

    @route("GET", "/api/notifications", query=NotificationsQuery(), returns=["Notification"], tag=TAG)
    def notifications(self, request: Request) -> Response:
        """The caller's notifications, newest first."""
        return json_response(self.services.approval.notifications(
            bool(params(request).get("unread_only"))))

    @route("POST", "/api/notifications/read", body=MarkReadBody(), returns=["Notification"], tag=TAG)
    def mark_read(self, request: Request) -> Response:
        """``{"ids": [...]}``: mark those read; answers the caller's notifications."""
        ids = json_object(request).get("ids")
        if not isinstance(ids, list):
            raise bad_request("ids must be a list of notification ids",
                              errors={"ids": ["a list of notification ids"]})
        return json_response(self.services.approval.mark_read(ids))
