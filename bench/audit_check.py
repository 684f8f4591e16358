"""Offline audit check rate: export synthetic hash-chained events to a file (as
``invoicectl audit export`` writes it), then check the file as ``invoicectl audit check``
does. Target (issue 16): >= 20,000 events/s for the check.

    .venv/bin/python -m bench.audit_check [--events 100000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "invoice")]

from shared import audit_file  # noqa: E402
from tests.support.fakes import PagedEventSource, synthetic_events  # noqa: E402

TARGET_EVENTS_PER_S = 20_000


def audit_section(events: int = 100_000, per_stream: int = 10) -> dict[str, Any]:
    streams = max(events // per_stream, 1)
    source = synthetic_events(streams, per_stream)
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as directory:
        path = Path(directory) / "audit.jsonl"
        started = time.perf_counter()
        with open(path, "w", encoding="utf-8") as out:
            audit_file.export({"invoice": PagedEventSource(source)}, out)
        export_seconds = time.perf_counter() - started
        report = audit_file.check(audit_file.read_lines(str(path))).to_dict()
        size_mb = path.stat().st_size / 1e6
    assert report["ok"], report["problems"][:3]
    rate = report["events"] / report["seconds"]
    return {"events": report["events"], "streams": streams, "file_mb": round(size_mb, 1),
            "export_events_per_s": round(len(source) / export_seconds),
            "check_seconds": report["seconds"], "check_events_per_s": round(rate),
            "export_then_check_events_per_s": round(len(source) / (export_seconds + report["seconds"])),
            "target_check_events_per_s": TARGET_EVENTS_PER_S}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    options = parser.parse_args()
    result = audit_section(options.events)
    print(json.dumps(result, indent=2))
    return 0 if result["check_events_per_s"] >= TARGET_EVENTS_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
