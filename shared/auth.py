"""Who is calling, and what they may do.

Pure code: tokens are HS256 JWTs (PyJWT); the policy is a YAML file operators edit.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml

from shared.errors import Forbidden, Unauthorized

DEFAULT_SECRET = "dev-secret-change-me"
# The contract's local default secret is shorter than RFC 7518 recommends; production
# sets INVOICE_AUTH_SECRET. Do not flood every log line with PyJWT's warning about it.
warnings.filterwarnings("ignore", message=".*HMAC key.*", module="jwt")
DEFAULT_POLICY_FILE = Path(__file__).with_name("policy.yaml")
SERVICE_ROLE = "service"


@dataclass(frozen=True)
class Actor:
    """The verified caller of one call; recorded on every event that call causes."""

    id: str
    name: str = ""
    department: str | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "department": self.department,
                "roles": list(self.roles)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(id=str(data["id"]), name=data.get("name") or "",
                   department=data.get("department"), roles=tuple(data.get("roles") or ()))


def issue_token(secret: str, *, sub: str, name: str = "", department: str | None = None,
                roles: Iterable[str] = (), ttl_seconds: int | None = 3600) -> str:
    """Make a signed token (used by tests, the demo loader and service-to-service calls)."""
    claims: dict[str, Any] = {"sub": sub, "name": name, "department": department,
                              "roles": list(roles)}
    if ttl_seconds is not None:
        claims["exp"] = int(time.time()) + ttl_seconds
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(token: str) -> str:
    return f"Bearer {token}"


def service_token(secret: str, service_name: str, ttl_seconds: int = 300) -> str:
    """A short-lived token for one service calling another on its own behalf."""
    return issue_token(secret, sub=f"service:{service_name}", name=service_name,
                       roles=[SERVICE_ROLE], ttl_seconds=ttl_seconds)


def verify_authorization(header: object, secret: str, *, check_expiry: bool = True) -> Actor:
    """Turn an ``authorization`` context value into an Actor or raise Unauthorized.

    ``check_expiry=False`` is for events: a message may wait in a durable queue longer
    than a token lives; its signature still proves which service published it."""
    if not isinstance(header, str) or not header.startswith("Bearer "):
        raise Unauthorized("missing or malformed authorization (expected 'Bearer <JWT>')")
    token = header[len("Bearer "):].strip()
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"],
                            options={"require": ["sub"], "verify_exp": check_expiry})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("invalid token: roles must be a list of strings")
    department = claims.get("department")
    return Actor(id=str(claims["sub"]), name=str(claims.get("name") or ""),
                 department=None if department is None else str(department),
                 roles=tuple(roles))


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
