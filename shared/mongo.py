"""MongoDB client construction: one place that knows the connection rules."""
from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from bson.codec_options import CodecOptions, TypeCodec, TypeRegistry
from bson.decimal128 import Decimal128
from pymongo import MongoClient, monitoring
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.write_concern import WriteConcern

from shared import metrics

DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017/?retryWrites=false"


class DecimalCodec(TypeCodec):
    """Store Python Decimals exactly as Decimal128 and read them back as Decimals."""

    python_type = Decimal
    bson_type = Decimal128

    def transform_python(self, value: Decimal) -> Decimal128:
        return Decimal128(value)

    def transform_bson(self, value: Decimal128) -> Decimal:
        return value.to_decimal()


CODEC_OPTIONS: CodecOptions[Any] = CodecOptions(
    type_registry=TypeRegistry([DecimalCodec()]), tz_aware=True)


class CommandCounter(monitoring.CommandListener):
    """Counts every command the client sends (``crm_store_commands_total``, by database,
    command and collection): the store round trips of a call, counted rather than timed."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        metrics.STORE_COMMANDS.labels(event.database_name, event.command_name,
                                      target if isinstance(target, str) else "").inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COUNT_COMMANDS_ENV = "STORE_COUNT_COMMANDS"


def connect(url: str | None) -> MongoClient[Any]:
    """A client for ``url``. Writes are journaled: an acknowledged event survives a crash.
    With ``STORE_COUNT_COMMANDS=1`` in the environment every command is counted
    (``CommandCounter``; off by default: pymongo then builds two event objects per
    command, ~7 % of the invoice service's CPU in a profile of create_invoice)."""
    counting = os.environ.get(COUNT_COMMANDS_ENV, "") not in ("", "0")
    return MongoClient(url or DEFAULT_MONGO_URL, w=1, journal=True,
                       serverSelectionTimeoutMS=10_000, connect=False,
                       event_listeners=[CommandCounter()] if counting else [])


def database(client: MongoClient[Any], name: str) -> Database[Any]:
    return client.get_database(name, codec_options=CODEC_OPTIONS,
                               write_concern=WriteConcern(w=1, j=True))


def database_name(config: dict[str, Any], service: str) -> str:
    """Each service owns one database: ``<prefix><service>``."""
    return f"{config.get('MONGO_DB_PREFIX') or 'crm_'}{service}"


def is_duplicate_of(exc: Exception, index_name: str) -> bool:
    """Whether a DuplicateKeyError (or a bulk write's duplicate) came from the named index.

    Matches the server's "index: <name> dup key" phrase, never the duplicated value."""
    details = getattr(exc, "details", None) or {}
    messages = [str(details.get("errmsg", ""))]
    messages += [str(e.get("errmsg", "")) for e in details.get("writeErrors", [])
                 if e.get("code") == 11000]
    return any(f"index: {index_name} " in message for message in messages)


def is_duplicate_key(exc: Exception) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    details = getattr(exc, "details", None) or {}
    return isinstance(exc, BulkWriteError) and \
        any(e.get("code") == 11000 for e in details.get("writeErrors", []))
