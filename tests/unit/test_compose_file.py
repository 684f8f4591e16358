"""docker-compose.yml is valid and defines the whole system (no Docker engine needed:
`docker-compose config` only parses and checks the file)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str] | None:
    """docker-compose, else the `docker compose` plugin, else None."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 timeout=30).returncode == 0:
        return ["docker", "compose"]
    return None


COMPOSE = compose_command()

pytestmark = pytest.mark.skipif(COMPOSE is None, reason="neither docker-compose nor docker compose is installed")


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    env = {k: v for k, v in os.environ.items() if k != "INVOICE_DEV_MODE"}  # the tests' own
    return subprocess.run([*COMPOSE, "-f", str(ROOT / "docker-compose.yml"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_file_defines_infrastructure_and_all_four_services() -> None:
    result = compose("config", "--services")
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"rabbitmq", "mongo", "customer", "invoice", "approval", "search", "gateway"} <= services


def test_each_service_runs_its_own_module_with_config_from_the_environment() -> None:
    yaml = pytest.importorskip("yaml")
    result = compose("config")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)["services"]
    for name in ("customer", "invoice", "approval", "search", "gateway"):
        service = config[name]
        assert f"{name}.service" in service["command"]
        assert f"services/{name}/config.yaml" in service["command"]
        env = service["environment"]
        assert env["AMQP_URI"].startswith(f"amqp://crm-{name}:") and "@rabbitmq:" in env["AMQP_URI"]
        assert env["MONGO_URL"].startswith(f"mongodb://crm-{name}:") and "@mongo:27017/" in env["MONGO_URL"]
        assert "replicaSet=rs0" in env["MONGO_URL"] and "authSource=admin" in env["MONGO_URL"]
        assert "guest" not in env["AMQP_URI"]
        assert env["INVOICE_DEV_MODE"] == "0" and env["INVOICE_JWKS_FILE"]
        assert env["EVENT_SIGNING_KEY_FILE"].startswith(f"/run/secrets/{name}-")
        assert any(s["source"] == f"{name}-key" for s in service["secrets"])
        assert f"/app/services/{name}" in env["PYTHONPATH"]
        if name != "gateway":  # the gateway publishes a port range (scales within it)
            assert "ports" not in service, "published ports would stop --scale"
    assert config["mongo"]["image"] == "mongo:7"
    mongod = " ".join(config["mongo"]["entrypoint"])
    assert "--replSet" in mongod and "--keyFile" in mongod
    assert config["mongo"]["environment"]["MONGO_INITDB_ROOT_USERNAME"] == "crm-admin"
    assert config["rabbitmq"]["image"].startswith("rabbitmq:3-management")
    for name, service in config.items():
        assert service.get("restart") in ("unless-stopped", "on-failure", "always"), name


def test_the_gateway_listens_on_all_interfaces_with_a_port_range_for_scaling() -> None:
    yaml = pytest.importorskip("yaml")
    result = compose("config")
    assert result.returncode == 0, result.stderr
    gateway = yaml.safe_load(result.stdout)["services"]["gateway"]
    assert "gateway.service" in gateway["command"]
    assert gateway["environment"]["GATEWAY_HOST"] == "0.0.0.0"
    assert "/app/services/gateway" in gateway["environment"]["PYTHONPATH"]
    published = str(gateway["ports"][0])     # "127.0.0.1:8000-8009:8000/tcp"
    assert published.startswith("127.0.0.1:8000-") and ":8000" in published.rsplit("-", 1)[1]
