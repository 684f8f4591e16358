"""What operators see of a service process: per-worker metrics and log context, and a
# nameko run finds service classes among a module's attributes: import this module, not
# OpsEndpoints itself, or the mixin is taken for a service.
small HTTP port with ``/health/live``, ``/health/ready`` and ``/metrics``.

``OpsEndpoints`` is a mixin for a service class (nameko finds inherited entrypoints and
dependencies): its ``@http`` entrypoints listen on ``WEB_SERVER_ADDRESS`` (default
``127.0.0.1:0``, a free port, so several instances on one host never clash) and the
port chosen is written to ``$RUN_DIR/<service>-<pid>.port`` (JSON) for ``invoicectl
status``. A service class without the HTTP port (the search projector, which shares its
process with the search service) takes ``WorkerObserver`` alone.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import eventlet
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from nameko.web.handlers import HttpRequestHandler, http
from nameko.web.server import WebServer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import MongoClient
from werkzeug.wrappers import Response

from shared import logs, metrics
from shared.health import CATCH_UPS
from shared.rpc import AuthenticatedRpc

log = logging.getLogger("shared.ops")
DEFAULT_RUN_DIR = "var/run"


class WorkerObserver(DependencyProvider):
    """Times every worker; for an RPC call counts it by method and outcome and logs one
    line (method, duration, outcome); for an event handler the same under
    ``crm_event_handlers``. Sets the log context (correlation id, actor id) and puts the
    correlation id into the worker's context data, so every RPC call and event the
    worker causes carries it on to the next service."""

    def setup(self) -> None:
        logs.set_service(self.container.service_name)
        self._started: dict[int, float] = {}
        # off only to measure what the hooks cost (bench/ops_cost.py)
        self.enabled = str(self.container.config.get("WORKER_HOOKS", True)).lower() not in ("false", "0", "off")

    def worker_setup(self, worker_ctx: Any) -> None:
        if not self.enabled or isinstance(worker_ctx.entrypoint, HttpRequestHandler):
            return
        correlation_id = str(worker_ctx.data.get("correlation_id") or worker_ctx.call_id)
        worker_ctx.data["correlation_id"] = correlation_id
        logs.CORRELATION_ID.set(correlation_id)
        actor = getattr(worker_ctx.service, "actor", None)
        logs.ACTOR_ID.set(getattr(actor, "id", None))
        self._started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(id(worker_ctx), None)
        if started is None:
            return
        seconds = time.perf_counter() - started
        outcome = "ok" if exc_info is None else exc_info[0].__name__
        entrypoint = worker_ctx.entrypoint
        service, method = self.container.service_name, entrypoint.method_name
        if isinstance(entrypoint, AuthenticatedRpc):
            metrics.RPC_CALLS.labels(service, method, outcome).inc()
            metrics.RPC_SECONDS.labels(service, method).observe(seconds)
            kind = "rpc"
        else:
            metrics.EVENTS_HANDLED.labels(service, method, outcome).inc()
            kind = "event" if isinstance(entrypoint, Consumer) else "worker"
        extra = {"kind": kind, "method": method, "duration_ms": round(seconds * 1000, 3),
                 "outcome": outcome}
        batch = batch_of(worker_ctx)
        if batch is None:
            log.info("%s %s.%s %s in %.1f ms", kind, service, method, outcome, seconds * 1000,
                     extra=extra)
            return
        # one line per call the batch's events came from, so each stays traceable by its id
        ids: list[str | None] = [*correlation_ids(batch)] or [logs.CORRELATION_ID.get()]
        for correlation_id in ids:
            logs.CORRELATION_ID.set(correlation_id)
            log.info("%s %s.%s %s in %.1f ms (batch of %d)", kind, service, method, outcome,
                     seconds * 1000, len(batch), extra={**extra, "batch": len(batch)})


def batch_of(worker_ctx: Any) -> list[Any] | None:
    """The envelopes of a batched event handler's worker (``event_stream(batch=True)``)."""
    if getattr(worker_ctx.entrypoint, "batch", False) and worker_ctx.args \
            and isinstance(worker_ctx.args[0], list):
        return list(worker_ctx.args[0])
    return None


def correlation_ids(envelopes: list[Any]) -> list[str]:
    """The distinct correlation ids of ``envelopes``, in order of appearance."""
    return list(dict.fromkeys(str(e["correlation_id"]) for e in envelopes
                              if isinstance(e, dict) and e.get("correlation_id")))


class Readiness:
    """The readiness checks of one process: store and broker reachable, catch-up done."""

    def __init__(self, mongo_url: str | None, amqp_uri: str) -> None:
        self.client: MongoClient[Any] = MongoClient(
            mongo_url or "mongodb://127.0.0.1:27017/?retryWrites=false",
            serverSelectionTimeoutMS=1000, connectTimeoutMS=1000, socketTimeoutMS=2000, connect=False)
        self.amqp_uri = amqp_uri

    def check(self) -> dict[str, Any]:
        checks = {"store": _probe(lambda: self.client.admin.command("ping")),
                  "broker": _probe(self._broker),
                  "catch_up": "ok" if not CATCH_UPS.pending() else
                  "waiting for " + ", ".join(CATCH_UPS.pending())}
        return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}

    def _broker(self) -> None:
        with Connection(self.amqp_uri, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)

    def close(self) -> None:
        self.client.close()


def _probe(check: Any) -> str:
    try:
        check()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        return f"{type(exc).__name__}: {str(exc)[:200]}"


class OpsProvider(WorkerObserver):
    """WorkerObserver plus the readiness checks and the port file."""

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.readiness = Readiness(config.get("MONGO_URL"), config["AMQP_URI"])
        run_dir = Path(str(config.get("RUN_DIR") or DEFAULT_RUN_DIR))
        self.port_file = run_dir / f"{self.container.service_name}-{os.getpid()}.port"

    def start(self) -> None:
        self.container.spawn_managed_thread(self._announce)

    def _announce(self) -> None:
        """Write the port file once the web server listens (it starts beside us)."""
        server = next((e for e in self.container.subextensions if isinstance(e, WebServer)), None)
        for _ in range(500):
            if server is None or getattr(server, "_sock", None) is not None:
                break
            eventlet.sleep(0.01)
        if server is None or server._sock is None:
            log.warning("no HTTP port: health and metrics are not served")
            return
        host, port = server._sock.getsockname()[:2]
        shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
        base = f"http://{shown}:{port}"
        info = {"service": self.container.service_name, "pid": os.getpid(),
                "instance": logs.instance_name(), "port": port, "host": shown,
                "health_url": f"{base}/health/ready", "live_url": f"{base}/health/live",
                "metrics_url": f"{base}/metrics", "started_at": time.time()}
        try:
            self.port_file.parent.mkdir(parents=True, exist_ok=True)
            self.port_file.write_text(json.dumps(info))
        except OSError:
            log.warning("could not write %s", self.port_file, exc_info=True)
        log.info("health and metrics on %s", base, extra={"health_url": info["health_url"],
                                                          "metrics_url": info["metrics_url"]})

    def stop(self) -> None:
        self.port_file.unlink(missing_ok=True)
        self.readiness.close()

    def kill(self) -> None:
        self.port_file.unlink(missing_ok=True)

    def get_dependency(self, worker_ctx: Any) -> Readiness:
        return self.readiness


class OpsEndpoints:
    """Mixin: health and metrics over HTTP for a service class."""

    readiness: Readiness = OpsProvider()  # type: ignore[assignment]

    @http("GET", "/health/live")
    def health_live(self, request: Any) -> Response:
        """200 while the process runs its containers."""
        return _json(200, {"live": True, "service": logs.service_name(), "instance": logs.instance_name()})

    @http("GET", "/health/ready")
    def health_ready(self, request: Any) -> Response:
        """200 when store and broker answer and catch-up is done, else 503 with the reasons."""
        report = self.readiness.check()
        report.update(service=logs.service_name(), instance=logs.instance_name())
        return _json(200 if report["ready"] else 503, report)

    @http("GET", "/metrics")
    def metrics(self, request: Any) -> Response:
        """Prometheus text format."""
        return Response(generate_latest(), status=200, content_type=CONTENT_TYPE_LATEST)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
