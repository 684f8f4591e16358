"""Finding instances by their port files: a live process's file is read, a dead one's
skipped (and removed with prune), a broken file ignored."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.instances import by_label, discover, total


def port_file(directory: Path, service: str, pid: int) -> Path:
    path = directory / f"{service}-{pid}.port"
    path.write_text(json.dumps({"service": service, "pid": pid, "health_url": "http://h/health/ready",
                                "metrics_url": "http://h/metrics"}))
    return path


def test_only_live_processes_are_found_and_prune_removes_the_stale_files(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = port_file(tmp_path, "invoice", int(dead.stdout))
    port_file(tmp_path, "customer", os.getpid())
    (tmp_path / "broken-1.port").write_text("{not json")

    assert [i["service"] for i in discover(tmp_path)] == ["customer"]
    assert stale.exists()
    discover(tmp_path, prune=True)
    assert not stale.exists()


def test_totals_sum_counters_over_instances_and_gauges_take_the_largest() -> None:
    first = {("crm_rpc_calls_total", (("method", "a"), ("outcome", "ok"))): 2.0,
             ("crm_queue_messages", (("queue", "q"),)): 3.0}
    second = {("crm_rpc_calls_total", (("method", "a"), ("outcome", "ok"))): 5.0,
              ("crm_rpc_calls_total", (("method", "a"), ("outcome", "NotFound"))): 1.0,
              ("crm_queue_messages", (("queue", "q"),)): 4.0}

    assert total([first, second], "crm_rpc_calls_total", method="a", outcome="ok") == 7.0
    assert total([first, second], "crm_rpc_calls_total", method="a") == 8.0
    assert by_label([first, second], "crm_queue_messages", "queue") == {"q": 4.0}
