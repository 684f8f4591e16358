"""Who is calling: a bearer token (API clients) or a session cookie (people), and the
CSRF check for cookie-authenticated unsafe requests.

A session becomes a short-lived (5 min) user JWT from the users file, so the services
see the same identity either way and stay the judges of scope and permissions:

- outside dev mode signed EdDSA with the gateway's session key (``shared.auth.user_token``;
  key id ``gateway_session-<n>``, under ``GATEWAY_SESSION_KEYS_DIR``, default
  ``<EVENT_KEYS_DIR>/sessions``, or ``GATEWAY_SESSION_KEY_FILE``). The services accept
  these because the operator put its public key into their JWKS file
  (``python -m shared.keys jwks <jwks.json> <sessions dir>``). Without that key the
  gateway does not start. It is not the gateway's service key (``gateway-<n>``, signing
  its service tokens): a service key signs only its own service's tokens.
- in dev mode (``INVOICE_DEV_MODE=1``) HS256 with ``INVOICE_AUTH_SECRET``
  (``shared.auth.issue_token``), as every dev-mode token.

Bearer tokens of API clients are checked with ``shared.auth.token_verifier``, as the
services check them (identity provider JWKS; HS256 in dev mode only).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nameko.extensions import SharedExtension
from werkzeug.wrappers import Request

from gateway.database import GatewayDatabase
from gateway.problems import HttpProblem, unauthorized
from gateway.sessions import (
    COOKIE_NAME,
    CSRF_FIELD,
    CSRF_HEADER,
    LoginThrottle,
    Session,
    SessionStore,
)
from gateway.users import User, UsersFile
from shared.auth import (
    SERVICE_ROLE,
    Actor,
    TokenVerifier,
    bearer,
    dev_secret,
    is_dev_mode,
    issue_token,
    token_verifier,
    user_token,
)
from shared.errors import Unauthorized
from shared.keys import SigningKey, keys_dir, load_signing_key

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_TOKEN_TTL_SECONDS = 300
CALLER_KEY = "gateway.caller"
SESSION_KEY_SERVICE = "gateway_session"  # key ids gateway_session-<n>


def session_keys_dir(config: Any) -> Path:
    return Path(str(config.get("SESSION_KEYS_DIR") or keys_dir(config) / "sessions"))


def load_session_key(config: Any) -> SigningKey:
    """The key that signs session tokens outside dev mode (KeysMissing without it)."""
    return load_signing_key({"EVENT_KEYS_DIR": str(session_keys_dir(config)),
                             "EVENT_SIGNING_KEY_FILE": config.get("SESSION_KEY_FILE") or ""},
                            SESSION_KEY_SERVICE, use_env=False)


@dataclass(frozen=True)
class Caller:
    """The verified caller of one request."""

    actor: Actor
    authorization: str              # "Bearer <JWT>", sent as RPC context data
    session: Session | None = None  # set when signed in with the cookie
    user: User | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.actor.to_dict()
        data["via"] = "session" if self.session else "bearer"
        if self.session is not None:
            data["csrf_token"] = self.session.csrf_token
        if self.user is not None:
            data["username"] = self.user.username
        return data


def caller_of(request: Request) -> Caller | None:
    """The caller the entrypoint verified for this request (None on open routes)."""
    caller = request.environ.get(CALLER_KEY)
    return caller if isinstance(caller, Caller) else None


def required_caller(request: Request) -> Caller:
    caller = caller_of(request)
    if caller is None:
        raise unauthorized("sign in or send 'Authorization: Bearer <JWT>'")
    return caller


class Gatekeeper(SharedExtension):
    """The process's identity rules: auth secret, users file, sessions, throttle."""

    database = GatewayDatabase()

    def setup(self) -> None:
        config = self.container.config
        self.verifier: TokenVerifier = token_verifier(config)  # AuthSetupError: no way to check
        self.dev_secret: str | None = None
        self.session_key: SigningKey | None = None
        if is_dev_mode(config):
            self.dev_secret = dev_secret(config)
            derived = f"session:{self.dev_secret}"
        else:
            self.session_key = load_session_key(config)  # KeysMissing: refuse to start
            derived = hashlib.sha256(b"crm-session-cookie:" + self.session_key.private_pem()).hexdigest()
        self.session_secret = str(config.get("SESSION_SECRET") or derived)
        self.session_ttl = int(config.get("SESSION_TTL_SECONDS") or 28800)
        self.cookie_secure = str(config.get("COOKIE_SECURE")).lower() in ("true", "1", "yes")
        self.users = UsersFile(str(config.get("USERS_FILE") or "var/gateway-users.json"))
        self.max_body_bytes = int(config.get("MAX_BODY_BYTES") or 1_048_576)

    def start(self) -> None:
        self.sessions = SessionStore(self.database.db, self.session_secret, self.session_ttl)
        self.throttle = LoginThrottle(self.database.db)

    def identify(self, request: Request) -> Caller | None:
        """The caller, None when the request carries no credentials at all.

        A bearer header wins over a cookie; a bad one is refused (401), never ignored."""
        header = request.headers.get("Authorization")
        if header is not None:
            try:
                actor = self.verifier.verify(header)
            except Unauthorized as exc:
                raise unauthorized(str(exc.args[0]) if exc.args else "invalid token") from None
            if SERVICE_ROLE in actor.roles:
                raise unauthorized("service tokens are for calls between services, not HTTP")
            return Caller(actor=actor, authorization=header.strip())
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            return None
        session = self.sessions.find(cookie)
        user = self.users.get(session.username) if session else None
        if session is None or user is None:
            return None
        return self.caller_for(user, session)

    def caller_for(self, user: User, session: Session | None) -> Caller:
        actor = Actor(id=user.sub, name=user.name, department=user.department,
                      roles=user.roles)
        return Caller(actor=actor, authorization=self.authorization_for(actor),
                      session=session, user=user)

    def authorization_for(self, actor: Actor) -> str:
        """A fresh short-lived user token (``Bearer …``) for ``actor``'s claims: a
        session's, or an import job's owner when the job is resumed (docs/security.md)."""
        claims: dict[str, Any] = {"sub": actor.id, "name": actor.name,
                                  "department": actor.department, "roles": list(actor.roles),
                                  "ttl_seconds": SESSION_TOKEN_TTL_SECONDS}
        token = user_token(self.session_key, **claims) if self.session_key is not None \
            else issue_token(str(self.dev_secret), **claims)
        return bearer(token)

    @staticmethod
    def check_csrf(request: Request, caller: Caller) -> None:
        """Cookie-authenticated unsafe requests must prove they come from our pages:
        ``X-CSRF-Token`` header (``/api/``), or that or the form field (pages)."""
        if caller.session is None or request.method in SAFE_METHODS:
            return
        token = request.headers.get(CSRF_HEADER)
        if token is None and not request.path.startswith("/api/"):
            token = request.form.get(CSRF_FIELD)
        if not caller.session.csrf_matches(token):
            raise HttpProblem(403, "Forbidden", "missing or wrong CSRF token "
                              f"(send the {CSRF_HEADER} header the page was given)",
                              slug="csrf")

    def cookie_settings(self) -> dict[str, Any]:
        return {"key": COOKIE_NAME, "httponly": True, "samesite": "Lax", "path": "/",
                "secure": self.cookie_secure, "max_age": self.session_ttl}
