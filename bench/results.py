"""Where the benchmarks keep their reports (bench/results/<name>-<time>.json), and how
they put their private stack away."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def save_report(name: str, report: Any) -> Path:
    """Write ``report`` as JSON under bench/results and say where."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"saved {path.relative_to(ROOT)}")
    return path


def stop_stack(processes: Iterable[Any], mongo: Any, vhost: Any) -> None:
    """Stop a benchmark's service processes, then its private store and vhost."""
    for process in processes:
        process.stop()
    mongo.stop()
    vhost.delete()
