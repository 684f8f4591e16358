"""Every docker-compose service comes back by itself after a crash or a host reboot
(issue 9: "Compose has restart policies"). Read from the file itself, so it runs where
no docker-compose is installed; tests/unit/test_compose_file.py checks the file with it."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RESTARTING = {"unless-stopped", "on-failure", "always"}


def compose_services() -> dict[str, dict[str, object]]:
    # safe_load resolves the file's `<<: *service` merge keys as docker-compose does
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def test_every_compose_service_has_a_restart_policy() -> None:
    services = compose_services()

    missing = sorted(name for name, service in services.items()
                     if str(service.get("restart", "")).split(":")[0] not in RESTARTING)

    assert {"rabbitmq", "mongo", "customer", "invoice", "approval", "search", "gateway"} <= set(services)
    assert missing == [], f"no restart policy: {', '.join(missing)}"
