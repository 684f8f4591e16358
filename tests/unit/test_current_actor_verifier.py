"""CurrentActor builds its token verifier once per container, not once per call (issue
14: building it -- paths, environment -- was a share of every call's CPU)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shared import rpc
from shared.auth import TokenVerifier, issue_token
from shared.keys import KeyRing
from tests.support.infra import SECRET


def test_the_verifier_is_built_once_and_every_call_is_still_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    def counting(config: Any) -> TokenVerifier:
        built.append(config)
        return TokenVerifier(KeyRing(), dev_secret=SECRET)

    monkeypatch.setattr(rpc, "token_verifier", counting)
    actor = rpc.CurrentActor()
    actor.container = SimpleNamespace(config={})  # type: ignore[assignment]
    good = SimpleNamespace(entrypoint=None, context_data={
        "authorization": "Bearer " + issue_token(SECRET, sub="u1", name="Ann", roles=["admin"])})
    forged = SimpleNamespace(entrypoint=None, context_data={
        "authorization": "Bearer " + issue_token("not-the-secret" * 3, sub="u2", name="Eve", roles=["admin"])})

    actors = [actor.get_dependency(ctx) for ctx in (good, forged, good, forged)]

    assert len(built) == 1
    assert [a.id for a in actors] == ["u1", "anonymous", "u1", "anonymous"]
