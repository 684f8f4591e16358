"""Event signing keys: made once, rotated by key id, every public key still accepted."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shared.events.envelope import Metadata, PendingEvent, StreamHead
from shared.events.store import build_envelopes
from shared.keys import KeyRing, KeysMissing, ensure, load_key_ring, load_signing_key, rotate


def signed_event(key: object) -> dict:
    [event] = build_envelopes("s1", "thing", StreamHead(), [PendingEvent("Happened", {})],
                              Metadata(actor={"id": "u1"}), "2026-05-01T00:00:00.000Z", 1, key)  # type: ignore[arg-type]
    return event


def test_keys_are_made_once_with_a_private_half_only_its_owner_reads(tmp_path: Path) -> None:
    assert ensure(tmp_path, ["invoice", "customer"]) == ["invoice-1", "customer-1"]
    assert ensure(tmp_path, ["invoice", "customer"]) == []

    private = tmp_path / "private" / "invoice-1.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / "public" / "invoice-1.pub").exists()
    assert not list((tmp_path / "public").glob("*.key"))


def test_after_rotation_the_new_key_signs_and_events_of_both_keys_verify(tmp_path: Path) -> None:
    config = {"EVENT_KEYS_DIR": str(tmp_path)}
    ensure(tmp_path, ["invoice"])
    old = load_signing_key(config, "invoice")
    assert rotate(tmp_path, "invoice") == "invoice-2"
    new = load_signing_key(config, "invoice")
    ring = load_key_ring(config)

    assert (old.key_id, new.key_id) == ("invoice-1", "invoice-2")
    assert ring.problems(signed_event(old), "invoice") == []
    assert ring.problems(signed_event(new), "invoice") == []
    assert ring.problems(signed_event(new), "customer") == [
        "signed with key 'invoice-2', not a key of 'customer'"]
    assert KeyRing().problems(signed_event(new), "invoice") == ["unknown signing key 'invoice-2'"]


def test_a_service_without_its_key_cannot_sign(tmp_path: Path) -> None:
    ensure(tmp_path, ["customer"])
    with pytest.raises(KeysMissing, match="invoice"):
        load_signing_key({"EVENT_KEYS_DIR": str(tmp_path)}, "invoice")
    with pytest.raises(KeysMissing):
        load_key_ring({"EVENT_KEYS_DIR": str(tmp_path / "nowhere")})
