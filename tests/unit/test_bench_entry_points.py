"""``make bench`` runs its modules as ``python -m bench…``: each must at least start
(imports resolved, arguments parsed) — a broken import is found here, not after the
long benchmark run has begun. (Worker scripts the benchmarks start with positional
arguments, e.g. bench/client.py, are started by those and have no --help.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = sorted(["bench"] + [f"bench.{path.stem}" for path in (ROOT / "bench").glob("*.py")
                                   if path.stem not in ("__init__", "__main__")
                                   and "ArgumentParser" in path.read_text(encoding="utf-8")])


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_a_bench_entry_point_starts(module: str) -> None:
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, env={"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout
