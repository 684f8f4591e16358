"""scripts/supervisor_conf.py: the supervisord configuration of `make run`, made from the
Procfile, read back by supervisord's own parser."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "supervisor_conf.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("supervisor_conf", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["supervisor_conf"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def generate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "log").mkdir(exist_ok=True)
    (tmp_path / "run").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--procfile", str(ROOT / "Procfile"), "--root", str(ROOT),
         "--log-dir", str(tmp_path / "log"), "--run-dir", str(tmp_path / "run"), *args],
        capture_output=True, text=True, timeout=30)


def parsed(tmp_path: Path, *args: str) -> Any:
    """The configuration as supervisord reads it (its own ServerOptions)."""
    from supervisor.options import ServerOptions
    result = generate(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    conf = tmp_path / "supervisord.conf"
    conf.write_text(result.stdout)
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return options


def processes(options: Any) -> dict[str, Any]:
    return {f"{group.name}:{process.name}": process
            for group in options.process_group_configs for process in group.process_configs}


def procfile_services() -> list[str]:
    return [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]


def test_every_service_of_the_procfile_becomes_a_program_by_default(tmp_path: Path) -> None:
    options = parsed(tmp_path)

    assert sorted(group.name for group in options.process_group_configs) == sorted(procfile_services())
    assert "gateway" in procfile_services()


def test_each_program_runs_its_procfile_line_through_bash_so_the_per_service_env_applies(
        tmp_path: Path) -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)

    options = parsed(tmp_path)

    for key, process in processes(options).items():
        name = key.split(":")[0]
        assert process.command == f"/bin/bash -c '{procfile[name]}'"
        assert f"AMQP_URI_{name.upper()}" in process.command
        assert f"MONGO_URL_{name.upper()}" in process.command
        assert process.directory == str(ROOT)


def test_services_selects_programs_and_scale_becomes_numbered_processes(tmp_path: Path) -> None:
    options = parsed(tmp_path, "--services", "invoice approval search", "--scale", "invoice=3,search=2")

    assert sorted(processes(options)) == ["approval:approval-1", "invoice:invoice-1", "invoice:invoice-2",
                                          "invoice:invoice-3", "search:search-1", "search:search-2"]


def test_a_crashed_process_is_restarted_with_back_off_and_stopped_with_its_group(tmp_path: Path) -> None:
    options = parsed(tmp_path, "--services", "invoice", "--startsecs", "3", "--startretries", "7")

    from supervisor.datatypes import RestartUnconditionally
    process = processes(options)["invoice:invoice-1"]
    assert process.autorestart is RestartUnconditionally and process.autostart is True
    assert (process.startsecs, process.startretries) == (3, 7)
    assert process.stopasgroup and process.killasgroup
    assert process.stdout_logfile == str(tmp_path / "log" / "invoice-1.log")
    assert process.redirect_stderr


def test_supervisord_keeps_its_socket_pid_and_log_under_the_given_directories(tmp_path: Path) -> None:
    options = parsed(tmp_path, "--services", "customer")

    assert options.pidfile == str(tmp_path / "run" / "supervisord.pid")
    assert options.logfile == str(tmp_path / "log" / "supervisord.log")
    assert options.server_configs[0]["file"] == str(tmp_path / "run" / "supervisor.sock")
    assert options.nodaemon


@pytest.mark.parametrize(("args", "message"), [
    (("--services", "invoice billing"), "SERVICES names billing"),
    (("--scale", "billing=2"), "SCALE names 'billing'"),
    (("--scale", "invoice=0"), "count >= 1"),
    (("--scale", "invoice"), "expected 'service=count'"),
])
def test_unknown_services_and_bad_scale_are_refused_naming_them(tmp_path: Path, args: tuple[str, ...],
                                                                message: str) -> None:
    result = generate(tmp_path, *args)

    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_malformed_procfile_line_is_named() -> None:
    script = load_script()

    with pytest.raises(script.ConfigError, match="Procfile line 2"):
        script.parse_procfile("invoice: run it\nno command here\n")


def test_percent_signs_in_a_procfile_line_survive_supervisord_expansion(tmp_path: Path) -> None:
    script = load_script()
    programs = [script.Program("odd", "exec echo 100%")]

    text = script.render(programs, ROOT, tmp_path, tmp_path)

    conf = tmp_path / "odd.conf"
    conf.write_text(text)
    from supervisor.options import ServerOptions
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    assert processes(options)["odd:odd-1"].command == "/bin/bash -c 'exec echo 100%'"
