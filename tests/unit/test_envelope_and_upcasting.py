"""Hash chain, canonical form and upcasting of stored events."""
from __future__ import annotations

from decimal import Decimal

import pytest

from shared.events.envelope import (
    GENESIS_HASH,
    Metadata,
    PendingEvent,
    StreamHead,
    chain_breaks,
    compute_hash,
    envelope_to_wire,
)
from shared.events.store import build_envelopes
from shared.events.upcasting import UpcasterRegistry


def make_stream(count: int = 3) -> list[dict]:
    pending = [PendingEvent("Thing", {"n": i, "amount": Decimal("1.50")}) for i in range(count)]
    return build_envelopes("s1", "thing", StreamHead(), pending,
                                 Metadata(actor={"id": "u1"}), "2026-01-01T00:00:00.000Z", 1)


def test_each_event_links_to_the_previous_hash() -> None:
    events = make_stream()

    assert events[0]["prev_hash"] == GENESIS_HASH
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert chain_breaks(events) == []


def test_the_hash_is_the_same_on_the_wire_as_in_the_store() -> None:
    event = make_stream(1)[0]

    wire = envelope_to_wire(event)

    assert wire["data"]["amount"] == "1.50"
    assert compute_hash(wire) == event["hash"]


def test_tampering_with_data_breaks_the_chain_at_that_version() -> None:
    events = make_stream()
    events[1]["data"]["amount"] = Decimal("1000.00")

    broken = chain_breaks(events)

    assert broken == [{"invoice_id": "s1", "version": 2,
                       "reason": "hash does not match the event's content"}]


def test_a_missing_event_is_reported_as_a_gap() -> None:
    events = make_stream()
    del events[1]

    reasons = [b["reason"] for b in chain_breaks(events)]

    assert "version gap: expected 2" in reasons


def test_upcasters_bring_old_events_to_the_current_schema_in_steps() -> None:
    registry = UpcasterRegistry()

    @registry.register("Thing", 1)
    def rename(data: dict) -> dict:
        data["count"] = data.pop("n")
        return data

    @registry.register("Thing", 2)
    def add_unit(data: dict) -> dict:
        return {**data, "unit": "pcs"}

    old = {"type": "Thing", "schema_version": 1, "data": {"n": 3}}

    assert registry.upcast(old) == {"type": "Thing", "schema_version": 3,
                                    "data": {"count": 3, "unit": "pcs"}}
    assert old["data"] == {"n": 3}  # the stored form is left alone


def test_an_upcaster_is_registered_once_per_version() -> None:
    registry = UpcasterRegistry()
    registry.register("Thing", 1)(lambda d: d)
    with pytest.raises(ValueError):
        registry.register("Thing", 1)(lambda d: d)
