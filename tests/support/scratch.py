"""The shell scripts of scripts/ run in a scratch copy of the repository root: their own
var/ (pid files, logs, sockets), this checkout's .venv and code, so nothing a `make run`
of this checkout started is touched."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.infra import ROOT


def make_scratch_root(parent: Path) -> Path:
    root = parent / "root"
    root.mkdir()
    shutil.copytree(ROOT / "scripts", root / "scripts")
    for name in (".venv", "shared", "services"):
        (root / name).symlink_to(ROOT / name)
    (root / "var").mkdir()
    return root


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without broker or store settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MONGO_", "AMQP_URI", "RABBITMQ_", "SCALE", "SERVICES"))}
    return {**env, **extra}


def script(root: Path, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``scripts/<args[0]> args[1:]`` of ``root``."""
    return subprocess.run([str(root / "scripts" / args[0]), *args[1:]], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)
