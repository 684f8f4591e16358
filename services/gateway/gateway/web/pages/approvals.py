"""``/approvals``: the inbox, the requests I submitted, everything I may see; a request's
detail with its changes and the decisions; notifications."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.page import Page
from gateway.web.pages.common import custom_fields, error_page, field_label
from shared.errors import Forbidden, NotFound

VIEWS = ("inbox", "mine", "all", "notifications")


def approval_list(page: Page) -> Response:
    view = page.request.args.get("view") or "inbox"
    view = view if view in VIEWS else "inbox"
    rpc = page.rpc
    requests, notifications = [], []
    if view == "inbox":
        requests = rpc.approval.list_requests(mine=True)
    elif view == "notifications":
        notifications = rpc.approval.notifications()
    else:
        requests = rpc.approval.list_requests(status=page.request.args.get("status") or None)
        if view == "mine":
            me = page.actor.id if page.actor else ""
            requests = [r for r in requests if (r.get("submitter") or {}).get("id") == me]
    return page.render("approvals.html", view=view, views=VIEWS, requests=requests,
                       notifications=notifications)


def approval_detail(page: Page, request_id: str) -> Response:
    rpc = page.rpc
    try:
        request = rpc.approval.get_request(request_id)
    except (NotFound, Forbidden) as exc:
        return error_page(page, exc)
    custom = custom_fields(page)
    changes = [(field_label(page, name, custom), change.get("from"), change.get("to"))
               for name, change in (request.get("changed_fields") or {}).items()]
    unread = [n["id"] for n in rpc.approval.notifications(unread_only=True)
              if n.get("request_id") == request_id]
    if unread:
        rpc.approval.mark_read(unread)
    me = page.actor.id if page.actor else ""
    return page.render("approval.html", req=request, changes=changes,
                       may_decide=request["status"] == "pending"
                       and (request.get("submitter") or {}).get("id") != me,
                       may_withdraw=request["status"] == "pending"
                       and (request.get("submitter") or {}).get("id") == me)
