"""``/settings`` (admin): invoice types with colours, custom fields, approval flows."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.page import Page
from gateway.web.pages.common import custom_fields, editable_fields, field_label
from gateway.web.query import BUILDER_OPS

CUSTOM_KINDS = ("text", "number", "money", "date", "select", "bool")


def settings_page(page: Page) -> Response:
    if not page.can("settings.manage"):
        return page.render("error.html", status=403, status_code=403, message="")
    rpc = page.rpc
    custom = custom_fields(page)
    watchable = [*editable_fields(), *[f"custom.{d['key']}" for d in custom]]
    return page.render("settings.html",
                       types=rpc.invoice.list_invoice_types(include_inactive=True),
                       custom=custom, kinds=CUSTOM_KINDS, flows=rpc.approval.list_flows(),
                       watchable=[(name, field_label(page, name, custom)) for name in watchable],
                       builder_ops=BUILDER_OPS)
