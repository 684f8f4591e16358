"""Log lines: JSON with the context fields by default, plain text with LOG_FORMAT=text."""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from shared import logs
from shared.events.consumer import EventStreamHandler
from shared.ops import WorkerObserver


def formatted(message: str, **extra: object) -> str:
    record = logging.LogRecord("invoice.application", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    logs.ContextFilter().filter(record)
    return logs.make_formatter().format(record)


def test_a_json_line_carries_time_level_service_instance_and_the_worker_context(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    token_c, token_a = logs.CORRELATION_ID.set("corr-1"), logs.ACTOR_ID.set("user-9")
    try:
        line = json.loads(formatted("发票已创建", method="create_invoice", duration_ms=3.5))
    finally:
        logs.CORRELATION_ID.reset(token_c)
        logs.ACTOR_ID.reset(token_a)
    assert line["level"] == "INFO" and line["message"] == "发票已创建"
    assert line["correlation_id"] == "corr-1" and line["actor_id"] == "user-9"
    assert line["method"] == "create_invoice" and line["duration_ms"] == 3.5
    assert line["time"].endswith("+00:00") and line["instance"] and line["service"]


def test_text_format_is_one_plain_line_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "text")
    line = formatted("hello")
    assert not line.startswith("{") and "INFO" in line and line.endswith("invoice.application: hello")


def test_a_batched_event_worker_logs_one_line_per_correlation_id_of_its_events(
        caplog: pytest.LogCaptureFixture) -> None:
    # given a batched handler's worker with events of two calls (one of them twice)
    observer = WorkerObserver()
    observer.container = SimpleNamespace(service_name="search_projector", config={})
    observer.setup()
    entrypoint = EventStreamHandler("invoice", batch=True)
    entrypoint.method_name = "on_invoice_event"
    envelopes = [{"correlation_id": "call-1"}, {"correlation_id": "call-2"}, {"correlation_id": "call-1"}]
    worker = SimpleNamespace(entrypoint=entrypoint, args=(envelopes,), data={}, call_id="w-1",
                             service=None)
    caplog.handler.addFilter(logs.ContextFilter())

    # when it has run
    with caplog.at_level(logging.INFO, logger="shared.ops"):
        observer.worker_setup(worker)
        observer.worker_result(worker)

    # then each call's id has its line, naming the batch
    lines = [r for r in caplog.records if r.name == "shared.ops"]
    assert [r.__dict__["correlation_id"] for r in lines] == ["call-1", "call-2"]
    assert all(r.__dict__["batch"] == 3 and r.__dict__["method"] == "on_invoice_event" for r in lines)
