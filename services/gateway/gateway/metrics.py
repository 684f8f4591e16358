"""Prometheus metrics of the gateway (``GET /metrics``)."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("gateway_requests_total", "HTTP requests answered",
                   ["route", "method", "status"])
LATENCY = Histogram("gateway_request_seconds", "Time to the response headers",
                    ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RPC_LATENCY = Histogram("gateway_rpc_seconds", "RPC calls made by the gateway",
                        ["service", "method"],
                        buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
RPC_ERRORS = Counter("gateway_rpc_errors_total", "RPC calls that failed, by error type",
                     ["service", "method", "error"])


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
