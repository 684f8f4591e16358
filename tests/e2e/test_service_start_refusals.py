"""A service refuses to start rather than run unsafely: outside dev mode without the
identity provider's keys, or without a key to sign its events with."""
from __future__ import annotations

from typing import Any

import pytest

from tests.support.infra import ServiceProcess, wait_for


@pytest.mark.parametrize(("env", "reason"), [
    ({"INVOICE_DEV_MODE": "0", "INVOICE_JWKS_FILE": ""}, "INVOICE_JWKS_FILE"),
    ({"EVENT_KEYS_DIR": "/nonexistent/keys"}, "no event signing key"),
], ids=["no-identity-provider-keys", "no-signing-key"])
def test_a_service_refuses_to_start_without_its_keys(system: Any, tmp_path: Any, env: dict[str, str],
                                                     reason: str) -> None:
    process = ServiceProcess("customer", {**system.env, **env}, str(tmp_path)).start()
    try:
        wait_for(lambda: not process.alive(), timeout=60, message="the service to give up")
    finally:
        process.stop()
    assert process.proc is not None and process.proc.returncode != 0
    assert reason in process.log_tail(80)
