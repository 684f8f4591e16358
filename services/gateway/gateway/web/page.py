"""One page request: who asks (the gateway's session), in which language, and how a
template becomes a response. Pages call the services only through ``session.rpc`` —
the gateway's RPC helper carrying the signed-in person's identity — so scope,
permissions and validation stay the services'."""
from __future__ import annotations

import gettext
import json
import logging
import os
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from gateway.web import i18n
from shared.auth import Actor, Policy

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Session:
    """What the gateway gives a page for a signed-in person: who (the verified actor),
    the CSRF token the page hands to its scripts, and the RPC helper calling as them
    (``rpc.search.search(query)``)."""

    actor: Actor
    csrf_token: str
    rpc: Any


@cache
def environment(locale: str) -> Environment:
    """One template environment per language, its catalog installed as ``_``."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "svg"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(locale), newstyle=False)  # type: ignore[attr-defined]
    env.filters["tojson_attr"] = lambda value: json.dumps(value, ensure_ascii=False)
    env.globals["label"] = partial(label, i18n.translations(locale))
    return env


def label(translations: gettext.NullTranslations, key: str) -> str:
    """The text of a message id built from a value (``event.<type>``); a value the
    catalogs do not know yet (a newer service's) shows as itself."""
    text = translations.gettext(key)
    return key.rsplit(".", 1)[-1] if text == key else text


@cache
def policy() -> Policy:
    """The services' role policy (``INVOICE_POLICY_FILE``, else shared/policy.yaml), read
    to decide which actions a page offers; the services enforce it whatever a page shows."""
    return Policy.load(os.environ.get("INVOICE_POLICY_FILE") or None)


def locale_of(request: Request) -> str:
    return i18n.negotiate(request.args.get("lang"), request.cookies.get(i18n.LANG_COOKIE),
                          request.headers.get("Accept-Language"))


class Page:
    """Renders one page for one request."""

    def __init__(self, request: Request, session: Session | None) -> None:
        self.request = request
        self.session = session
        self.locale = locale_of(request)
        self.translations = i18n.translations(self.locale)

    @property
    def rpc(self) -> Any:
        assert self.session is not None
        return self.session.rpc

    @property
    def actor(self) -> Actor | None:
        return self.session.actor if self.session else None

    def can(self, permission: str) -> bool:
        return self.actor is not None and policy().allows(self.actor, permission)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def unread_notifications(self) -> int:
        if not self.session:
            return 0
        try:
            return len(self.rpc.approval.notifications(unread_only=True))
        except Exception:  # noqa: BLE001 - a header badge must not break the page
            log.warning("unread notifications unavailable", exc_info=True)
            return 0

    def other_language_url(self) -> str:
        args = [(k, v) for k, v in self.request.args.items(multi=True) if k != "lang"]
        args.append(("lang", "en" if self.locale == "zh_CN" else "zh_CN"))
        return f"{self.request.path}?{urlencode(args)}"

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        env = environment(self.locale)
        context = {
            "locale": self.locale, "html_lang": "zh-CN" if self.locale == "zh_CN" else "en",
            "user": self.actor, "csrf_token": self.session.csrf_token if self.session else "",
            "can": self.can, "unread": self.unread_notifications(),
            "path": self.request.path, "request": self.request,
            "other_lang_url": self.other_language_url(), **values,
        }
        body = env.get_template(template).render(context)
        response = Response(body, status=status, mimetype="text/html")
        if (lang := self.request.args.get("lang")) and i18n.normalise(lang):
            response.set_cookie(i18n.LANG_COOKIE, self.locale, max_age=365 * 86400,
                                httponly=True, samesite="Lax")
        return response
