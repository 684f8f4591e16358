"""deploy/: Prometheus config and alert rules pass promtool (and its rule unit tests);
the dashboard and rules only name metrics the code exports; the Kubernetes manifests
(kustomize base and each overlay, rendered here) validate against the Kubernetes schema
offline, probe the health endpoints and scale each service on its own queues."""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared.events.consumer import EventStreamHandler, queue_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMTOOL = shutil.which("promtool")
K8S_VERSION = "1.30.0"
SERVICES = ("customer", "invoice", "approval", "search")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian prometheus) is not installed")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=DEPLOY / "prometheus", capture_output=True,
                          text=True, timeout=60)


@needs_promtool
def test_the_prometheus_config_passes_promtool() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_alert_rules_pass_promtool_and_fire_on_their_unit_test_series() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def exported_metric_names() -> set[str]:
    sources = [ROOT / "shared" / "metrics.py", ROOT / "services/approval/approval/dependencies.py"]
    names = set()
    for source in sources:
        text = source.read_text()
        for name in re.findall(r'\(\s*"(crm_[a-z_]+)"', text):
            names.add(name)
            names |= {f"{name}_total", f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_rules_and_dashboard_only_name_metrics_the_services_export() -> None:
    exported = exported_metric_names()
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "crm-invoice.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = set(re.findall(r"\bcrm_[a-z_]+", rules + "\n".join(exprs)))
    assert used and used <= exported, used - exported
    assert {"crm_relay_lag_seconds", "crm_dlq_messages", "crm_queue_messages"} <= used


# -- Kubernetes ----------------------------------------------------------------------
def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def apply_json_patch(doc: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    for op in operations:
        *parents, last = op["path"].strip("/").split("/")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        assert op["op"] in ("replace", "add"), op
        if op["op"] == "replace":
            assert (last in target) if isinstance(target, dict) else int(last) < len(target), op["path"]
        target[last if isinstance(target, dict) else int(last)] = op["value"]


def render(directory: Path) -> list[dict[str, Any]]:
    """A small kustomize: resources (files and bases), namespace, images, JSON patches."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = (directory / resource).resolve()
        docs += render(path) if path.is_dir() else load_docs(path)
    docs = copy.deepcopy(docs)
    for patch in spec.get("patches", []):
        matched = [d for d in docs if d["kind"] == patch["target"]["kind"]]
        assert matched, patch["target"]
        for doc in matched:
            apply_json_patch(doc, yaml.safe_load(patch["patch"]))
    for image in spec.get("images", []):
        for doc in docs:
            for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                name, _, _ = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] != "Namespace":
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs


CORE_APIS = ("v1", "apps/v1", "policy/v1")


@pytest.mark.parametrize("target", ["base", "overlays/dev", "overlays/prod"])
def test_the_core_manifests_validate_strictly_against_the_kubernetes_schema(target: str) -> None:
    docs = render(DEPLOY / "k8s" / target)
    core = [d for d in docs if d["apiVersion"] in CORE_APIS]
    assert {d["kind"] for d in core} >= {"Deployment", "PodDisruptionBudget", "Secret", "ConfigMap"}
    for doc in core:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def consumer_queues(service: str) -> set[str]:
    module = __import__(f"{service}.service", fromlist=["service"])
    queues = {f"rpc-{service}"}
    for cls in vars(module).values():
        if not isinstance(cls, type) or not getattr(cls, "name", None):
            continue
        for attr in dir(cls):
            for extension in getattr(getattr(cls, attr), "nameko_entrypoints", ()):
                if isinstance(extension, EventStreamHandler):
                    queues.add(queue_name(extension.source_service, cls.name, attr))
    return queues


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_probes_its_health_port_and_keda_scales_it_on_its_own_queues(service: str) -> None:
    docs = render(DEPLOY / "k8s" / "overlays" / "prod")
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == service)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WEB_SERVER_ADDRESS"] == "0.0.0.0:8080"
    assert container["ports"] == [{"name": "ops", "containerPort": 8080}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "ops"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "ops"}
    assert f"{service}.service" in container["command"]
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    assert deployment["spec"]["replicas"] == 2
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == service)
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]

    scaled = next(d for d in docs if d["kind"] == "ScaledObject" and d["metadata"]["name"] == service)
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == service
    assert scaled["spec"]["minReplicaCount"] == 2
    triggers = scaled["spec"]["triggers"]
    assert {t["metadata"]["queueName"] for t in triggers} == consumer_queues(service)
    assert all(t["type"] == "rabbitmq" and t["authenticationRef"]["name"] == "crm-rabbitmq" for t in triggers)


def test_compose_checks_each_service_on_its_ready_endpoint_and_runs_prometheus_and_grafana() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in SERVICES:
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "/health/ready" in check
        assert services[name]["environment"]["WEB_SERVER_ADDRESS"] == "0.0.0.0:8080"
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert any("dashboards" in v for v in services["grafana"]["volumes"])
