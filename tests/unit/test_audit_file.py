"""The offline audit file: an export checks clean; any altered, dropped or reordered
line is found and named by store and stream, without services or a store."""
from __future__ import annotations

import io
import json
from typing import Any

from shared import audit_file
from tests.support.fakes import PagedEventSource, synthetic_events


def exported(**stores: list[dict[str, Any]]) -> list[str]:
    out = io.StringIO()
    audit_file.export({name: PagedEventSource(events) for name, events in stores.items()}, out,
                      page_size=7)
    return out.getvalue().splitlines(keepends=True)


def two_stores() -> list[str]:
    return exported(invoice=synthetic_events(5, 4), customer=synthetic_events(3, 2, prefix="cus"))


def problems(lines: list[str]) -> list[dict[str, Any]]:
    return audit_file.check(lines).to_dict()["problems"]


def tamper(lines: list[str], index: int, change: Any) -> list[str]:
    record = json.loads(lines[index])
    change(record)
    return lines[:index] + [json.dumps(record) + "\n"] + lines[index + 1:]


def test_an_untouched_export_checks_clean_with_every_store_and_stream() -> None:
    report = audit_file.check(two_stores()).to_dict()

    assert report["ok"] and report["problems"] == []
    assert report["events"] == 26
    assert report["stores"]["invoice"] == {"events": 20, "streams": 5, "last_position": 20}
    assert report["stores"]["customer"]["streams"] == 3


def test_an_altered_amount_is_named_by_store_stream_and_version() -> None:
    lines = two_stores()
    event_line = next(i for i, line in enumerate(lines) if '"version": 2' in line)
    target = json.loads(lines[event_line])["event"]

    found = problems(tamper(lines, event_line, lambda r: r["event"]["data"]["changes"]["amount"]
                            .update(to="999999.00")))

    assert {(p["store"], p["stream_id"], p["version"]) for p in found} >= \
        {("invoice", target["stream_id"], 2)}
    assert any("hash does not match" in p["reason"] for p in found)


def test_a_rehashed_forgery_breaks_the_next_link_or_the_head() -> None:
    from shared.events.envelope import compute_hash
    lines = two_stores()
    last_of_stream = max(i for i, line in enumerate(lines) if '"inv_000001"' in line and '"event"' in line)

    def forge(record: dict[str, Any]) -> None:
        record["event"]["data"]["changes"]["amount"]["to"] = "1.00"
        record["event"]["hash"] = compute_hash(record["event"])

    found = problems(tamper(lines, last_of_stream, forge))

    assert [(p["store"], p["stream_id"]) for p in found] == [("invoice", "inv_000001")]
    assert "the head says" in found[0]["reason"]


def test_a_dropped_event_shows_as_a_gap_and_a_short_count() -> None:
    lines = two_stores()
    dropped = next(i for i, line in enumerate(lines) if '"cus_000002"' in line and '"version": 1' in line)

    found = problems(lines[:dropped] + lines[dropped + 1:])

    assert any(p["stream_id"] == "cus_000002" and "version gap" in p["reason"] for p in found)
    assert any(p["store"] == "customer" and "the file holds" in p["reason"] for p in found)


def test_a_truncated_file_lacks_its_last_head() -> None:
    found = problems(two_stores()[:-1])

    assert any(p["store"] == "customer" and "file ends early" in p["reason"] for p in found)


def test_a_signature_check_runs_only_on_signed_events_when_keys_are_given() -> None:
    lines = two_stores()
    signed = tamper(lines, 1, lambda r: r["event"].update(signature="bad"))
    calls: list[str] = []

    def verify(envelope: Any, keys: Any) -> str | None:
        calls.append(envelope["stream_id"])
        return "signature does not verify" if envelope["signature"] == "bad" else None

    assert audit_file.check(signed, None, verify).to_dict()["ok"] is True  # no keys: hashes only
    assert calls == []
    report = audit_file.check(signed, {"invoice": "pk"}, verify).to_dict()
    assert len(calls) == 1
    assert any(p["reason"].endswith("signature does not verify") for p in report["problems"])
