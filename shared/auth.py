"""Who is calling, and what they may do.

Tokens (JWT, PyJWT), three kinds, every one with ``exp`` and a non-empty ``sub``, and a
lifetime of at most ``INVOICE_TOKEN_MAX_LIFETIME`` seconds (default 3600):

- **users, production**: signed by the identity provider (EdDSA or RS256), checked with
  the public keys of its JWKS file (``INVOICE_JWKS_FILE``). A service outside dev mode
  refuses to start without it.
- **users, development**: HS256 with the shared ``INVOICE_AUTH_SECRET``, accepted only
  in dev mode (``INVOICE_DEV_MODE=1``, which ``make run`` and the tests switch on); a
  service in dev mode says so loudly at start.
- **services** calling services on their own behalf: EdDSA, signed with the calling
  service's own key (``shared.keys``, the key that signs its events; key id in the
  token's ``kid``), living at most 5 minutes. Only these carry the ``service`` role.

The policy is a YAML file operators edit.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml

from shared.actor import Actor  # re-exported: callers keep importing it from here
from shared.errors import Forbidden, Unauthorized
from shared.keys import KeyRing, SigningKey, key_service, public_dir

log = logging.getLogger(__name__)

DEFAULT_SECRET = "dev-secret-change-me"
DEFAULT_POLICY_FILE = Path(__file__).with_name("policy.yaml")
SERVICE_ROLE = "service"
SERVICE_PREFIX = "service:"
DEFAULT_MAX_LIFETIME = 3600
SERVICE_MAX_LIFETIME = 300
CLOCK_SKEW = 30  # seconds an issuer's clock may run ahead of ours (lifetime check only)
USER_ALGORITHMS = ["EdDSA", "RS256"]


def issue_token(secret: str, *, sub: str, name: str = "", department: str | None = None,
                roles: Iterable[str] = (), ttl_seconds: int | None = 3600) -> str:
    """Make a dev-mode (HS256) user token: tests, the demo loader, local tools."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "name": name, "department": department,
                              "roles": list(roles), "iat": now}
    if ttl_seconds is not None:
        claims["exp"] = now + ttl_seconds
    return jwt.encode(claims, secret, algorithm="HS256")


def user_token(key: SigningKey, *, sub: str, name: str = "", department: str | None = None,
               roles: Iterable[str] = (), ttl_seconds: int = SERVICE_MAX_LIFETIME) -> str:
    """A user token signed EdDSA with ``key`` (kid = its key id): what an issuer of user
    tokens other than the identity provider (the HTTP gateway's sessions) makes. The
    services accept it only when ``key``'s public key is in their JWKS file, and only if
    that key id is not also a service key (a service key signs only service tokens)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "name": name, "department": department,
                              "roles": list(roles), "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.key_id})


def bearer(token: str) -> str:
    return f"Bearer {token}"


def service_token(key: SigningKey, ttl_seconds: int = SERVICE_MAX_LIFETIME) -> str:
    """A short-lived token for the key's service calling another on its own behalf."""
    now = int(time.time())
    claims = {"sub": f"{SERVICE_PREFIX}{key.service}", "name": key.service,
              "roles": [SERVICE_ROLE], "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.key_id})


class AuthSetupError(Exception):
    """Raised at start when a service has no way to verify tokens (no JWKS outside dev mode)."""


@dataclass
class TokenVerifier:
    """Checks ``authorization`` values: see the module's docstring for the rules."""

    service_keys: KeyRing
    user_keys: Mapping[str, Any] = field(default_factory=dict)  # kid -> PyJWK (IdP)
    dev_secret: str | None = None  # dev mode only
    max_lifetime: int = DEFAULT_MAX_LIFETIME

    def verify(self, header: object, *, check_expiry: bool = True) -> Actor:
        """Turn an ``authorization`` context value into an Actor or raise Unauthorized.

        ``check_expiry=False`` is for a call's actor read again after the call was
        admitted; ``exp`` must still be there and the lifetime within bounds."""
        if not isinstance(header, str) or not header.startswith("Bearer "):
            raise Unauthorized("missing or malformed authorization (expected 'Bearer <JWT>')")
        token = header[len("Bearer "):].strip()
        try:
            unverified = jwt.get_unverified_header(token)
            key, algorithms, is_service = self._key_for(unverified)
            claims = jwt.decode(token, key, algorithms=algorithms,
                                options={"require": ["sub", "exp"], "verify_exp": check_expiry})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None
        return self._actor(claims, unverified, is_service)

    def _key_for(self, header: Mapping[str, Any]) -> tuple[Any, list[str], bool]:
        kid, alg = header.get("kid"), header.get("alg")
        if alg == "EdDSA" and isinstance(kid, str) and kid in self.service_keys.keys:
            return self.service_keys.keys[kid], ["EdDSA"], True
        if isinstance(kid, str) and kid in self.user_keys:
            jwk = self.user_keys[kid]
            return jwk.key, [jwk.algorithm_name], False
        if alg == "HS256" and self.dev_secret is not None:
            return self.dev_secret, ["HS256"], False
        raise jwt.InvalidTokenError(f"no trusted key for this token (kid {kid!r}, alg {alg!r})")

    def _actor(self, claims: Mapping[str, Any], header: Mapping[str, Any],
               is_service: bool) -> Actor:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise Unauthorized("invalid token: empty sub")
        exp, iat = claims.get("exp"), claims.get("iat")
        limit = SERVICE_MAX_LIFETIME if is_service else self.max_lifetime
        if not isinstance(exp, (int, float)) or exp - time.time() > limit + CLOCK_SKEW or \
                (isinstance(iat, (int, float)) and exp - iat > limit):
            raise Unauthorized(f"invalid token: lives longer than {limit} s")
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized("invalid token: roles must be a list of strings")
        if is_service:
            service = key_service(str(header.get("kid")))
            if sub != f"{SERVICE_PREFIX}{service}" or roles != [SERVICE_ROLE]:
                raise Unauthorized("invalid token: a service key signs only its own service's token")
        elif SERVICE_ROLE in roles or sub.startswith(SERVICE_PREFIX):
            raise Unauthorized("invalid token: the service role comes only with a service key")
        department = claims.get("department")
        return Actor(id=sub, name=str(claims.get("name") or ""),
                     department=None if department is None else str(department),
                     roles=tuple(roles))


def is_dev_mode(config: Mapping[str, Any]) -> bool:
    value = config.get("DEV_MODE", os.environ.get("INVOICE_DEV_MODE", ""))
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load_jwks(path: str | Path) -> dict[str, Any]:
    """The identity provider's public keys (EdDSA / RS256) by kid."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    keys = {}
    for jwk in jwt.PyJWKSet.from_dict(data).keys:
        if jwk.key_id and jwk.algorithm_name in USER_ALGORITHMS:
            keys[jwk.key_id] = jwk
    return keys


def dev_secret(config: Mapping[str, Any]) -> str:
    """The HS256 secret of dev mode (``AUTH_SECRET`` / ``INVOICE_AUTH_SECRET``)."""
    return str(config.get("AUTH_SECRET") or os.environ.get("INVOICE_AUTH_SECRET") or DEFAULT_SECRET)


def token_verifier(config: Mapping[str, Any]) -> TokenVerifier:
    """The verifier a service's config asks for; AuthSetupError when it cannot have one."""
    from shared.keys import keys_dir
    jwks = config.get("JWKS_FILE") or os.environ.get("INVOICE_JWKS_FILE") or ""
    secret = dev_secret(config)
    max_lifetime = config.get("TOKEN_MAX_LIFETIME") or os.environ.get("INVOICE_TOKEN_MAX_LIFETIME")
    return _verifier(str(keys_dir(config)), str(jwks), str(secret) if is_dev_mode(config) else None,
                     int(max_lifetime or DEFAULT_MAX_LIFETIME))


@functools.lru_cache(maxsize=16)
def _verifier(keys: str, jwks: str, dev_secret: str | None, max_lifetime: int) -> TokenVerifier:
    user_keys = load_jwks(jwks) if jwks else {}
    if dev_secret is None and not user_keys:
        raise AuthSetupError("no identity provider keys: set INVOICE_JWKS_FILE (a JWKS file with "
                             "EdDSA or RS256 keys), or INVOICE_DEV_MODE=1 for local development")
    if dev_secret is not None:
        log.warning("DEV MODE: HS256 tokens signed with the shared INVOICE_AUTH_SECRET are "
                    "accepted%s. Never run like this in production (unset INVOICE_DEV_MODE, "
                    "set INVOICE_JWKS_FILE).",
                    " -- and it is the PUBLIC DEFAULT SECRET" if dev_secret == DEFAULT_SECRET else "")
    return TokenVerifier(KeyRing.from_dir(public_dir(keys)), user_keys, dev_secret, max_lifetime)


def verify_authorization(header: object, secret: str, *, check_expiry: bool = True) -> Actor:
    """Dev-mode check of a user token against ``secret`` (tests and local tools)."""
    return TokenVerifier(KeyRing(), dev_secret=secret).verify(header, check_expiry=check_expiry)


class Policy:
    """Role-based permissions and data scopes, loaded from a YAML file.

    ``permissions``: permission name -> roles allowed.
    ``scopes``: action (view, edit) -> role -> all | department | own.
    """

    SCOPE_RANK = {"own": 1, "department": 2, "all": 3}

    def __init__(self, permissions: Mapping[str, Iterable[str]],
                 scopes: Mapping[str, Mapping[str, str]]) -> None:
        self.permissions = {name: frozenset(roles) for name, roles in permissions.items()}
        self.scopes = {action: dict(by_role) for action, by_role in scopes.items()}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        with open(path or DEFAULT_POLICY_FILE, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        return cls(data.get("permissions", {}), data.get("scopes", {}))

    def allows(self, actor: Actor, permission: str) -> bool:
        if permission not in self.permissions:
            raise KeyError(f"unknown permission {permission!r}")
        return actor.has_role(*self.permissions[permission])

    def require(self, actor: Actor, permission: str) -> None:
        if not self.allows(actor, permission):
            raise Forbidden(f"{permission} is not allowed for roles {list(actor.roles)}")

    def scope(self, actor: Actor, action: str) -> str | None:
        """The widest data scope any of the actor's roles grants for ``action``."""
        granted = [self.scopes.get(action, {}).get(role) for role in actor.roles]
        ranked = [s for s in granted if s in self.SCOPE_RANK]
        return max(ranked, key=self.SCOPE_RANK.__getitem__) if ranked else None

    def covers(self, actor: Actor, action: str, owner_id: str | None,
               department_id: str | None) -> bool:
        """Whether ``action`` on a record with this owner and department is in scope."""
        scope = self.scope(actor, action)
        if scope == "all":
            return True
        if scope == "department":
            return department_id is not None and department_id == actor.department \
                or owner_id == actor.id
        if scope == "own":
            return owner_id == actor.id
        return False

    def mongo_filter(self, actor: Actor, action: str = "view") -> dict[str, Any] | None:
        """The scope as a query filter; None means nothing is visible."""
        scope = self.scope(actor, action)
        if scope == "all":
            return {}
        if scope == "department":
            return {"$or": [{"department_id": actor.department}, {"owner_id": actor.id}]}
        if scope == "own":
            return {"owner_id": actor.id}
        return None
