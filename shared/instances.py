"""Finding the running service processes of this host and reading their health and
metrics: each process writes ``$RUN_DIR/<service>-<pid>.port`` (shared.ops) with its
URLs; a file whose process is gone is stale and skipped (``prune`` removes it)."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, tuple[tuple[str, str], ...]]


def run_dir() -> Path:
    return Path(os.environ.get("RUN_DIR") or "var/run")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def discover(directory: Path | None = None, prune: bool = False) -> list[dict[str, Any]]:
    """Every live instance's port file (service, pid, health_url, metrics_url, ...)."""
    found = []
    for path in sorted((directory or run_dir()).glob("*.port")):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not _alive(int(info.get("pid") or 0)):
            if prune:
                path.unlink(missing_ok=True)
            continue
        found.append(info)
    return found


def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """(status, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()
    except (OSError, ValueError) as exc:
        return 0, str(exc)


def scrape(url: str) -> dict[Sample, float]:
    """The samples of one /metrics page, keyed by (name, sorted labels)."""
    status, body = get(url)
    if status != 200:
        return {}
    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def total(pages: Iterable[dict[Sample, float]], name: str, **labels: str) -> float:
    """Sum of ``name`` over all pages and all samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for page in pages for (sample, keys), value in page.items()
               if sample == name and wanted <= set(keys))


def by_label(pages: Iterable[dict[Sample, float]], name: str, label: str) -> dict[str, float]:
    """``name`` per value of ``label`` (gauges of one store or queue are the same
    whichever instance reports them: the largest is kept, not the sum)."""
    result: dict[str, float] = {}
    for page in pages:
        for (sample, keys), value in page.items():
            if sample == name:
                key = dict(keys).get(label, "")
                result[key] = max(result.get(key, value), value)
    return result
