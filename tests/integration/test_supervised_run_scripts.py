"""The shell side of `make run`'s supervision, on stand-in services (a Procfile of
`sleep`s that look like `nameko run` processes) in a scratch root: lib.sh's
start_supervisor starts them under supervisord, a killed one comes back, `make status`
(scripts/status.sh) shows them, `make stop` (scripts/stop.sh) stops exactly them and
supervisord, and leaves a look-alike process it did not start alone."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import wait_for
from tests.support.scratch import clean_env, make_scratch_root, script

STAND_IN = 'exec -a "nameko run --config services/{name}/config.yaml" sleep 300'


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    made = make_scratch_root(tmp_path)
    (made / "Procfile").write_text("".join(f"{name}: {STAND_IN.format(name=name)}\n"
                                           for name in ("alpha", "beta")))
    yield made
    pid_file = made / "var" / "run" / "supervisord.pid"
    if pid_file.exists():  # the test failed before stop.sh: ours, by its pid file
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def running(status: str) -> dict[str, int]:
    """``name -> pid`` of the RUNNING lines of supervisorctl status."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+RUNNING\s+pid (\d+)", status, re.M)}


def test_stop_stops_what_the_supervisor_started_after_it_restarted_a_killed_process(root: Path) -> None:
    env = clean_env(SCALE="alpha=2")
    started = subprocess.run(["bash", "-c", "source scripts/lib.sh && start_supervisor alpha beta"],
                             cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    decoy = subprocess.Popen(["bash", "-c", STAND_IN.format(name="alpha")], start_new_session=True)
    try:
        first = wait_for(lambda: len(up := running(script(root, "status.sh", env=env).stdout)) == 3 and up,
                         timeout=60, interval=0.5, message="three processes RUNNING")
        assert set(first) == {"alpha:alpha-1", "alpha:alpha-2", "beta:beta-1"}

        os.kill(first["alpha:alpha-1"], signal.SIGKILL)
        again = wait_for(lambda: len(up := running(script(root, "status.sh", env=env).stdout)) == 3
                         and up["alpha:alpha-1"] != first["alpha:alpha-1"] and up,
                         timeout=60, interval=0.5, message="alpha-1 started again")
        assert again["beta:beta-1"] == first["beta:beta-1"]
        supervisord = int((root / "var" / "run" / "supervisord.pid").read_text())

        stopped = script(root, "stop.sh", env=env, timeout=120)

        assert stopped.returncode == 0, stopped.stderr
        for pid in (supervisord, *again.values()):
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        assert decoy.poll() is None, "stop.sh stopped a process it had not started"
        after = script(root, "status.sh", env=env)
        assert after.returncode == 1 and "not running" in after.stdout
    finally:
        decoy.kill()
        decoy.wait(5)
