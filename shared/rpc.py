"""nameko glue for identity: an RPC entrypoint that refuses unverified callers, the
current-actor dependency, and a client for calling services from outside nameko."""
from __future__ import annotations

import os
from typing import Any, Mapping

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.standalone.rpc import ClusterRpcProxy

from shared.auth import DEFAULT_SECRET, Actor, Policy, bearer, service_token, \
    verify_authorization

AUTH_HEADER = "authorization"


def auth_secret(config: Mapping[str, Any]) -> str:
    return str(config.get("AUTH_SECRET") or os.environ.get("INVOICE_AUTH_SECRET")
               or DEFAULT_SECRET)


class AuthenticatedRpc(Rpc):
    """``@rpc`` whose calls are refused with Unauthorized unless the context carries a
    valid ``authorization`` token. No worker runs for a refused call."""

    def handle_message(self, body: Any, message: Any) -> None:
        context = self.unpack_message_headers(message)
        verify_authorization(context.get(AUTH_HEADER), auth_secret(self.container.config))
        super().handle_message(body, message)


rpc = AuthenticatedRpc.decorator


class CurrentActor(DependencyProvider):
    """Injects the verified Actor of the call (or event) being handled."""

    def get_dependency(self, worker_ctx: Any) -> Actor:
        return verify_authorization(worker_ctx.context_data.get(AUTH_HEADER),
                                    auth_secret(self.container.config))


class PolicyProvider(DependencyProvider):
    """Loads the role policy file once per container (``POLICY_FILE`` in config)."""

    def setup(self) -> None:
        self.policy = Policy.load(self.container.config.get("POLICY_FILE") or None)

    def get_dependency(self, worker_ctx: Any) -> Policy:
        return self.policy


def system_rpc(config: Mapping[str, Any], caller: str) -> ClusterRpcProxy:
    """A standalone RPC proxy carrying a short-lived service token (for background work)."""
    token = bearer(service_token(auth_secret(config), caller))
    return ClusterRpcProxy(dict(config), context_data={AUTH_HEADER: token}, timeout=30)
