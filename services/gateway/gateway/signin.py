"""Sign-in for people: ``GET/POST /login``, ``POST /logout``.

A minimal server-rendered form (the web pages may restyle it). A wrong password shows
the form again with a message and sets no cookie; repeated failures per (username,
client address) are locked for a growing time (``gateway.sessions.LoginThrottle``).
"""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from gateway.gatekeeper import Gatekeeper, caller_of
from gateway.http import route
from gateway.sessions import COOKIE_NAME, CSRF_FIELD

HOME = "/invoices"
TEXT = {
    "zh": {"title": "登录 — 票据管理", "username": "用户名", "password": "密码",
           "submit": "登录", "wrong": "用户名或密码错误。",
           "wait": "失败次数过多，请 {seconds} 秒后再试。"},
    "en": {"title": "Sign in — invoices", "username": "Username", "password": "Password",
           "submit": "Sign in", "wrong": "Wrong username or password.",
           "wait": "Too many failed attempts; try again in {seconds} s."},
}


class Signin(DependencyProvider):
    """Gives the sign-in routes the process's Gatekeeper (users, sessions, throttle)."""

    gate = Gatekeeper()

    def get_dependency(self, worker_ctx: Any) -> Gatekeeper:
        return self.gate


def language(request: Request) -> str:
    wanted = request.args.get("lang")
    if wanted in TEXT:
        return wanted
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return "en" if best == "en" else "zh"


def safe_next(target: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def login_page(request: Request, message: str = "", status: int = 200,
               username: str = "", headers: dict[str, str] | None = None) -> Response:
    """The form in the pages' look (``gateway.web``), with ``message`` when a try failed."""
    from gateway.web.login import render_login
    return render_login(request, message, status, username, headers,
                        next_path=safe_next(request.values.get("next")))


class SigninRoutes:
    signin: Gatekeeper

    @route("GET", "/login", auth="optional")
    def login_form(self, request: Request) -> Response:
        """The sign-in form (already signed in: on to the pages)."""
        caller = caller_of(request)
        if caller is not None and caller.session is not None:
            return redirect(safe_next(request.args.get("next")))
        return login_page(request)

    @route("POST", "/login", auth="none")
    def login(self, request: Request) -> Response:
        """Form fields ``username``, ``password`` (and ``next``): a session cookie and a
        redirect to ``/invoices``, or the form again with a message."""
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        address = request.remote_addr or "-"
        text = TEXT[language(request)]
        wait = self.signin.throttle.wait_seconds(username, address)
        if wait:
            return login_page(request, text["wait"].format(seconds=wait), 429, username,
                              {"Retry-After": str(wait)})
        user = self.signin.users.authenticate(username, password) if username else None
        if user is None:
            self.signin.throttle.failed(username, address)
            return login_page(request, text["wrong"], 401, username)
        self.signin.throttle.succeeded(username, address)
        _session, cookie = self.signin.sessions.open(user.username)
        response = redirect(safe_next(request.form.get("next")))
        response.set_cookie(value=cookie, **self.signin.cookie_settings())
        return response

    @route("POST", "/logout", auth="optional")
    def logout(self, request: Request) -> Response:
        """Ends the session (on every instance) and clears the cookie. With a session,
        the form field ``csrf_token`` (or the ``X-CSRF-Token`` header) is required."""
        caller = caller_of(request)
        if caller is not None and caller.session is not None:
            self.signin.sessions.close(caller.session.id)
        response = redirect("/login")
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax",
                               secure=self.signin.cookie_secure)
        return response


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


__all__ = ["SigninRoutes", "Signin", "CSRF_FIELD", "login_page", "safe_next"]
