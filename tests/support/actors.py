"""Tokens and RPC clients for test actors."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy

from shared.auth import bearer, issue_token
from tests.support.infra import SECRET


def token_for(*, roles: Iterable[str] = ("admin",), sub: str | None = None,
              department: str | None = "dept-1", name: str | None = None,
              secret: str = SECRET, ttl_seconds: int | None = 3600) -> str:
    sub = sub or f"user-{uuid.uuid4().hex[:8]}"
    return bearer(issue_token(secret, sub=sub, name=name or sub, department=department,
                              roles=list(roles), ttl_seconds=ttl_seconds))


class Clients:
    """Opens ClusterRpcProxy hubs per actor and closes them all at the end of a test."""

    def __init__(self, amqp_uri: str) -> None:
        self.config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        self._stack = ExitStack()

    def as_user(self, **claims: Any) -> Any:
        """A hub (``hub.invoice.create_invoice(...)``) calling as a fresh user."""
        return self.with_authorization(token_for(**claims))

    def with_authorization(self, authorization: str | None) -> Any:
        context = {} if authorization is None else {"authorization": authorization}
        proxy = ClusterRpcProxy(self.config, context_data=context, timeout=30)
        return self._stack.enter_context(proxy)

    def close(self) -> None:
        self._stack.close()
