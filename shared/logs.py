"""Log records as one JSON object per line (python-json-logger), or plain text with
``LOG_FORMAT=text`` for people at a terminal.

Every record carries ``service``, ``instance`` (host:pid), and, inside a worker, the
``correlation_id`` and ``actor_id`` of the call or event being handled: shared.ops sets
them per worker (eventlet greenthreads each have their own context variables). The
services' config.yaml wire this in through nameko's ``LOGGING`` (dictConfig)."""
from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import socket
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CORRELATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
ACTOR_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("actor_id", default=None)

JSON_FIELDS = "%(asctime)s %(levelname)s %(service)s %(instance)s %(correlation_id)s %(actor_id)s %(name)s %(message)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(service)s [%(correlation_id)s] %(name)s: %(message)s"

_identity: dict[str, str] = {}


def set_service(name: str) -> None:
    """Name the service this process runs (the first container to start names it)."""
    _identity.setdefault("service", name)


def service_name() -> str:
    if "service" not in _identity:
        # before any container started: ``nameko run ... invoice.service``
        module = next((a for a in reversed(sys.argv) if a.endswith(".service")), "")
        return module.split(".")[0] or os.path.basename(sys.argv[0])
    return _identity["service"]


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ContextFilter(logging.Filter):
    """Adds service, instance, correlation_id and actor_id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = service_name()
        record.instance = instance_name()
        record.correlation_id = CORRELATION_ID.get()
        record.actor_id = ACTOR_ID.get()
        return True


def _iso_time(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")


class IsoJsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso_time(record)


def make_formatter(**_: Any) -> logging.Formatter:
    """The formatter named by ``LOG_FORMAT`` (``json``, the default, or ``text``)."""
    if os.environ.get("LOG_FORMAT", "json").lower() == "text":
        return logging.Formatter(TEXT_FORMAT)
    return IsoJsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                     "name": "logger"},
                         json_ensure_ascii=False)
