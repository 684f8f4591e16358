"""bench/profile.py reads py-spy's raw profiles back as shares of the samples."""
from __future__ import annotations

from pathlib import Path

from bench.profile import summarize

RAW = (
    "process 1:\"nameko run\";thread (0x7f):MainThread;GreenThread.main (eventlet/greenthread.py:272);"
    "InvoiceService.update_field (invoice/service.py:127);EventStore.append (shared/events/store.py:210);"
    "SigningKey.sign (shared/keys.py:40) 3\n"
    "GreenThread.main (eventlet/greenthread.py:272);InvoiceService.update_field (invoice/service.py:127);"
    "dumps (json/__init__.py:231) 1\n"
)


def test_a_raw_profile_reads_as_self_and_own_code_inclusive_shares(tmp_path: Path) -> None:
    path = tmp_path / "profile.txt"
    path.write_text(RAW)

    summary = summarize(path)

    assert summary["samples"] == 4
    assert summary["self"] == [("shared/keys.py:SigningKey.sign", 0.75), ("json/__init__.py:dumps", 0.25)]
    inclusive = dict(summary["ours_inclusive"])
    assert inclusive == {"invoice/service.py:InvoiceService.update_field": 1.0,
                         "shared/events/store.py:EventStore.append": 0.75,
                         "shared/keys.py:SigningKey.sign": 0.75}
