"""The sign-in form in the pages' look; ``gateway.signin`` decides and calls this."""
from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.web.page import Page


def render_login(request: Request, message: str = "", status: int = 200, username: str = "",
                 headers: dict[str, str] | None = None, next_path: str = "") -> Response:
    response = Page(request, None).render("login.html", status=status, message=message,
                                          username=username, next=next_path)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
