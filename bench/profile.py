"""Where a service process spends its CPU and memory while a benchmark measures (issue 14).

``Recording`` runs ``py-spy record`` (requirements-dev.txt) on one process for the
length of a measurement, in py-spy's raw format (one collapsed stack and its sample
count a line) under bench/results (git-ignored: profiles are not committed);
``summarize`` reads such a file back as the top frames by their share of the samples.
Only samples of a thread holding the GIL are taken (``--gil``): a greenlet hub waiting
in epoll or a socket wait is not counted, so the shares are of the process's CPU time in
Python, not of the wall time.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench.results import RESULTS, ROOT

FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed (scripts/venv.sh installs requirements-dev.txt)")
    return found


class Recording:
    """``py-spy record`` of ``pid`` for ``seconds``, started now; ``finish`` waits for it."""

    def __init__(self, pid: int, name: str, seconds: float, rate: int = 200) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.path = RESULTS / f"profile-{name}.txt"
        self.proc = subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--format", "raw", "--output", str(self.path),
             "--duration", str(max(1, round(seconds))), "--rate", str(rate), "--nonblocking", "--gil"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self) -> Path | None:
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        return self.path if self.path.exists() else None


OURS = ("shared/", "invoice/", "customer/", "approval/", "search/", "gateway/", "bench/")


def frame_name(frame: str) -> tuple[str, bool]:
    """``function (path/module.py:12)`` -> (``path/module.py:function``, whether it is the
    project's own code). py-spy gives paths relative to the process's sys.path entry, so
    ``shared/…`` or ``invoice/…`` is ours and ``pymongo/…`` is not; lines are dropped so
    that one function is one row."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip(), False
    path = match.group("file")
    if path.startswith(str(ROOT) + "/"):
        path = path[len(str(ROOT)) + 1:]
    ours = path.startswith(OURS) or path.startswith("services/")
    return f"{path}:{match.group('function')}", ours


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    """The top functions by self share (samples with the function on top of the stack),
    and the project's own functions by inclusive share (samples with it anywhere on the
    stack), as fractions of all samples."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";") if f.strip()]
        frames = [f for f in frames if not f[0].startswith(("process ", "thread "))]
        if not frames:
            continue
        count = int(count_text)
        total += count
        for name in {name for name, ours in frames if ours}:
            inclusive[name] += count
        own[frames[-1][0]] += count
    share = (lambda n: round(n / total, 3)) if total else (lambda n: 0.0)
    return {"samples": total,
            "self": [(name, share(n)) for name, n in own.most_common(top)],
            "ours_inclusive": [(name, share(n)) for name, n in inclusive.most_common(2 * top)]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """The process's resident set now (VmRSS), MB; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


class RssWatch:
    """The highest VmRSS of each process, sampled every ``interval`` seconds in a thread
    for the whole run (``start`` .. ``stop``)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.pids = pids
        self.interval = interval
        self.max_mb: dict[str, float] = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-watch", daemon=True)

    def start(self) -> RssWatch:
        self._thread.start()
        return self

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.max_mb[name] = max(self.max_mb[name], rss_mb(pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(5)
        self.sample()
        return self.max_mb
