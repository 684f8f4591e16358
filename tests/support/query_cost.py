"""What a query costs on the real store: the filters an adapter sends (pymongo command
monitoring) and how many documents the store examines for each (``explain``). For tests
that pin a query to an index -- the store's cost grows with the documents it examines."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bson import decode
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from shared.mongo import CODEC_OPTIONS


class _Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.finds.append((str(event.command["find"]), dict(event.command.get("filter") or {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextmanager
def watched(url: str, name: str) -> Iterator[tuple[Database[Any], Callable[[], list[int]]]]:
    """A database ``name`` on a monitored client, and ``examined()``: the documents the
    store examined for each find sent through it so far."""
    listener = _Finds()
    client: MongoClient[Any] = MongoClient(url, event_listeners=[listener])
    db = client.get_database(name, codec_options=CODEC_OPTIONS)

    def examined() -> list[int]:
        counts = []
        for collection, query in list(listener.finds):
            stats = db[collection].find(query).explain()["executionStats"]
            if hasattr(stats, "raw"):  # SecantusDB answers in raw BSON
                stats = decode(stats.raw)
            counts.append(int(stats["totalDocsExamined"]))
        return counts

    try:
        yield db, examined
    finally:
        client.close()
