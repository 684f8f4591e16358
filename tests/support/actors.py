"""Tokens and RPC clients for test actors."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from shared.auth import bearer, issue_token
from shared.rpc_client import client_proxy
from tests.support.infra import SECRET


def token_for(*, roles: Iterable[str] = ("admin",), sub: str | None = None,
              department: str | None = "dept-1", name: str | None = None,
              secret: str = SECRET, ttl_seconds: int | None = 3600) -> str:
    sub = sub or f"user-{uuid.uuid4().hex[:8]}"
    return bearer(issue_token(secret, sub=sub, name=name or sub, department=department,
                              roles=list(roles), ttl_seconds=ttl_seconds))


class Clients:
    """Opens RPC hubs per actor (as internal callers do: ``client_proxy``, on the
    caller account) and closes them all at the end of a test."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self._stack = ExitStack()

    def as_user(self, **claims: Any) -> Any:
        """A hub (``hub.invoice.create_invoice(...)``) calling as a fresh user."""
        return self.with_authorization(token_for(**claims))

    def with_authorization(self, authorization: str | None) -> Any:
        return self._stack.enter_context(client_proxy(self.amqp_uri, authorization, timeout=30))

    def close(self) -> None:
        self._stack.close()
