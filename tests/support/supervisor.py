"""supervisord running services from the Procfile, as `make run` does
(scripts/supervisor_conf.py), on the test store and vhost: its configuration, socket,
pid file and logs in a temporary directory of its own, never the checkout's var/."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.support.infra import PYTHON, ROOT

SUPERVISORD = str(Path(PYTHON).with_name("supervisord"))
SUPERVISORCTL = str(Path(PYTHON).with_name("supervisorctl"))


class Supervisor:
    """``Supervisor(["customer", "invoice"], env).start()``; processes are named
    ``<service>:<service>-<n>`` (``pid("invoice:invoice-1")``)."""

    def __init__(self, services: list[str], env: dict[str, str], scale: str = "") -> None:
        self.env = env
        self.dir = Path(tempfile.mkdtemp(prefix="test-supervisor-"))
        self.log_dir, run_dir = self.dir / "log", self.dir / "run"
        self.log_dir.mkdir()
        run_dir.mkdir()
        self.conf = self.dir / "supervisord.conf"
        written = subprocess.run(
            [PYTHON, str(ROOT / "scripts" / "supervisor_conf.py"), "--procfile", str(ROOT / "Procfile"),
             "--root", str(ROOT), "--services", " ".join(services), "--scale", scale,
             "--log-dir", str(self.log_dir), "--run-dir", str(run_dir)],
            capture_output=True, text=True, timeout=30, check=True)
        self.conf.write_text(written.stdout)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Supervisor:
        with open(self.log_dir / "supervisord.out", "ab") as out:
            self.proc = subprocess.Popen([SUPERVISORD, "-c", str(self.conf)], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SUPERVISORCTL, "-c", str(self.conf), *args], capture_output=True,
                              text=True, timeout=30)

    def pid(self, process: str) -> int:
        """The running pid of ``process`` (0 while it is not running)."""
        out = self.ctl("pid", process).stdout.strip()
        return int(out) if out.isdigit() else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, name: str, lines: int = 40) -> str:
        try:
            text = (self.log_dir / name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """``supervisorctl shutdown`` (stops every program), then whatever is left is killed
        by pid: supervisord and the service processes it had started."""
        if self.proc is None:
            return
        children = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                                                       capture_output=True, text=True).stdout.split()]
        if self.alive():
            self.ctl("shutdown")
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)
