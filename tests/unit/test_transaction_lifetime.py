"""Both stores abort a transaction left open by a killed process after 3 s (README
"Events, failures and operators"); tests/faults/test_killed_writer.py measures it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared import secantus_server

ROOT = Path(__file__).resolve().parents[2]


def test_compose_starts_mongodb_with_a_three_second_transaction_lifetime() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    mongod = " ".join(compose["services"]["mongo"]["entrypoint"])

    assert "--setParameter transactionLifetimeLimitSeconds=3" in mongod


def test_the_local_store_takes_three_seconds_unless_told_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECANTUS_TRANSACTION_LIFETIME_SECONDS", raising=False)

    assert secantus_server.lifetime_from(["--port", "1"]) == (3.0, ["--port", "1"])
    assert secantus_server.lifetime_from(["--transaction-lifetime-seconds", "2", "--auth"]) == (2.0, ["--auth"])


def test_the_local_store_refuses_a_lifetime_that_is_not_positive() -> None:
    with pytest.raises(SystemExit):
        secantus_server.lifetime_from(["--transaction-lifetime-seconds", "0"])


def test_the_local_store_refuses_to_start_on_a_secantusdb_without_the_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class OlderServer:
        def __init__(self, host: str) -> None:
            raise AssertionError("must not be started")

    monkeypatch.setattr(secantus_server.cli, "SecantusDBServer", OlderServer)

    assert secantus_server.main(["--port", "1"]) == 2
