"""The search use cases over fakes of their ports: the served views, the source
services' event logs (opened once per use case) and where the projection stands."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from search.adapters.memory import MemoryViews
from search.application import LAG_WINDOW, SearchApplication
from search.ports import ReadPage
from shared.auth import Actor, Policy
from shared.events.envelope import Metadata, PendingEvent, StreamHead, envelope_to_wire
from shared.events.store import build_envelopes
from tests.support.fakes import PagedEventSource

ADMIN = Actor("admin-1", "Ada", "hq", ("admin",))


def invoice_created(position: int, amount: str, at: str) -> dict[str, Any]:
    fields = {"title": "服务费", "type": "receipt", "amount": amount, "issued_on": "2026-05-01",
              "customer_id": "cus_1", "custom": {}, "payment_ids": []}
    pending = [PendingEvent("InvoiceCreated", {"number": f"INV-{position}", "fields": fields})]
    envelope = build_envelopes(f"inv_{position}", "invoice", StreamHead(), pending,
                               Metadata(actor={"id": "u1", "name": "Ann"}), at, position)[0]
    return envelope_to_wire(envelope)


class FakeSources:
    """The source services' logs; counts how often they were opened and closed."""

    def __init__(self, invoice: list[dict[str, Any]], customer: list[dict[str, Any]]) -> None:
        self.logs = {"invoice": PagedEventSource(invoice), "customer": PagedEventSource(customer)}
        self.opened = self.closed = 0

    @contextmanager
    def __call__(self) -> Iterator[Mapping[str, ReadPage]]:
        self.opened += 1
        try:
            yield {name: log.read_events for name, log in self.logs.items()}
        finally:
            self.closed += 1


class FakeProjection:
    def __init__(self, positions: dict[str, int], rebuilding: bool = False) -> None:
        self.positions, self._rebuilding = positions, rebuilding

    def generation(self) -> int:
        return 3

    def position(self, generation: int, source: str) -> int:
        return self.positions[source]

    def rebuilding(self) -> bool:
        return self._rebuilding

    def consumers(self, generation: int) -> list[str]:
        return [f"search-{generation}-{source}" for source in self.positions]


def application(sources: FakeSources, projection: FakeProjection) -> SearchApplication:
    return SearchApplication(MemoryViews, Policy.load(), ADMIN, sources, projection)


def test_the_projection_status_counts_each_sources_events_after_its_position() -> None:
    invoices = [invoice_created(p, "10.00", "2026-05-01T08:00:00.000000+00:00") for p in (1, 2, 3)]
    sources = FakeSources(invoices, [])
    status = application(sources, FakeProjection({"invoice": 1, "customer": 0}, rebuilding=True)
                         ).projection_status()

    assert status["sources"] == {"invoice": {"last_position": 1, "lag_events": 2},
                                 "customer": {"last_position": 0, "lag_events": 0}}
    assert (status["last_position"], status["lag_events"], status["generation"]) == (1, 2, 3)
    assert status["rebuilding"] is True
    assert status["consumers"] == ["search-3-invoice", "search-3-customer"]
    assert (sources.opened, sources.closed) == (1, 1)


def test_the_lag_is_counted_up_to_a_window_a_source() -> None:
    many = [invoice_created(p, "1.00", "2026-05-01T08:00:00.000000+00:00")
            for p in range(1, LAG_WINDOW + 3)]
    status = application(FakeSources(many, []), FakeProjection({"invoice": 0, "customer": 0})
                         ).projection_status()

    assert status["lag_events"] == LAG_WINDOW


def test_stats_as_of_a_position_fold_the_sources_events_up_to_it() -> None:
    invoices = [invoice_created(1, "10.00", "2026-05-01T08:00:00.000000+00:00"),
                invoice_created(2, "5.00", "2026-05-02T08:00:00.000000+00:00")]
    sources = FakeSources(invoices, [])
    app = application(sources, FakeProjection({"invoice": 0, "customer": 0}))

    then = app.stats(None, ["type"], as_of=1)
    days = app.calendar(2026, 5, None, as_of=2)

    assert (then["total"]["count"], then["total"]["amount"]) == (1, "10.00")
    assert then["as_of"]["invoice_position"] == 1
    assert [d["count"] for d in days["days"]] == [2] and days["as_of"]["invoice_position"] == 2
    assert (sources.opened, sources.closed) == (2, 2)
    assert app.stats(None, ["type"])["total"]["count"] == 0  # now: the served (empty) views
    assert sources.opened == 2
