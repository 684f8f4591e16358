"""Write the supervisord configuration of `make run` from the Procfile.

    .venv/bin/python scripts/supervisor_conf.py [--services "invoice approval"]
        [--scale "invoice=3,search=2"] [--procfile Procfile] [--root .]
        [--log-dir var/log] [--run-dir var/run] > var/run/supervisord.conf

The Procfile stays the one list of services: each of its lines becomes a supervisord
program running that line through ``bash -c`` (its ``exec`` makes the nameko process
the one supervisord watches), so ``MONGO_URL_<SERVICE>`` / ``AMQP_URI_<SERVICE>`` and
everything else scripts/run.sh exports reach the services as before: supervisord's
children inherit its environment, and no password is written into the file.

Supervision: a process that exits is started again (``autorestart``); one that dies
within ``startsecs`` of its start is retried after 1 s, 2 s, 3 s ... (supervisord's
back-off) up to ``startretries`` times, then left FATAL. The other processes keep
running. Stops go to the whole process group (``stopasgroup``/``killasgroup``).
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigError(ValueError):
    """Raised when the Procfile, SERVICES or SCALE cannot be turned into a configuration."""


@dataclass(frozen=True)
class Program:
    name: str
    command: str
    numprocs: int = 1


@dataclass(frozen=True)
class Supervision:
    startsecs: int = 5        # up this long = started; an earlier exit counts as a failed start
    startretries: int = 20    # failed starts in a row (back-off 1 s, 2 s, ...) before FATAL
    stopwaitsecs: int = 30    # SIGTERM, then SIGKILL after this long (nameko finishes its workers)


def parse_procfile(text: str) -> dict[str, str]:
    """``name: command`` lines, in order; blank lines and ``#`` comments are skipped."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name, command = name.strip(), command.strip()
        if not sep or not NAME.match(name) or not command:
            raise ConfigError(f"Procfile line {number}: expected 'name: command', got {line!r}")
        if name in entries:
            raise ConfigError(f"Procfile line {number}: service {name!r} is listed twice")
        entries[name] = command
    if not entries:
        raise ConfigError("the Procfile lists no service")
    return entries


def parse_scale(text: str, known: list[str]) -> dict[str, int]:
    """``invoice=3,search=2`` -> {"invoice": 3, "search": 2}."""
    scale: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in re.split(r"[,\s]+", text or ""))):
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit() or int(count) < 1:
            raise ConfigError(f"SCALE: expected 'service=count' with count >= 1, got {item!r}")
        if name.strip() not in known:
            raise ConfigError(f"SCALE names {name.strip()!r}, which is not a service of the Procfile"
                              f" ({', '.join(known)})")
        scale[name.strip()] = int(count)
    return scale


def select(procfile: dict[str, str], services: list[str], scale: dict[str, int]) -> list[Program]:
    """The programs to run: ``services`` (all of the Procfile when empty), in Procfile order."""
    unknown = [name for name in services if name not in procfile]
    if unknown:
        raise ConfigError(f"SERVICES names {', '.join(unknown)}, not in the Procfile ({', '.join(procfile)})")
    wanted = set(services or procfile)
    return [Program(name, command, scale.get(name, 1))
            for name, command in procfile.items() if name in wanted]


def _value(text: str) -> str:
    return text.replace("%", "%%")  # supervisord expands %(name)s in its values


def render(programs: list[Program], root: Path, log_dir: Path, run_dir: Path,
           supervision: Supervision = Supervision()) -> str:
    socket = run_dir / "supervisor.sock"
    lines = [
        "; written by scripts/supervisor_conf.py from the Procfile (scripts/run.sh); do not edit",
        "[unix_http_server]",
        f"file={_value(str(socket))}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={_value(str(log_dir / 'supervisord.log'))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=3",
        f"pidfile={_value(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_value(str(log_dir))}",
        f"directory={_value(str(root))}",
        "nodaemon=true",
        "silent=true",  # its log goes to the logfile only (stdout: start-up errors)
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(str(socket))}",
    ]
    for program in programs:
        lines += [
            "",
            f"[program:{program.name}]",
            f"command=/bin/bash -c {_value(shlex.quote(program.command))}",
            "process_name=%(program_name)s-%(process_num)s",
            f"numprocs={program.numprocs}",
            "numprocs_start=1",
            f"directory={_value(str(root))}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={supervision.startsecs}",
            f"startretries={supervision.startretries}",
            "stopsignal=TERM",
            f"stopwaitsecs={supervision.stopwaitsecs}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_value(str(log_dir))}/%(program_name)s-%(process_num)s.log",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=3",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", default="Procfile")
    parser.add_argument("--services", default="", help="space-separated; default: all")
    parser.add_argument("--scale", default="", help="e.g. invoice=3,search=2")
    parser.add_argument("--root", default=".", help="the services' working directory")
    parser.add_argument("--log-dir", default="var/log")
    parser.add_argument("--run-dir", default="var/run", help="supervisord's socket and pid file")
    parser.add_argument("--startsecs", type=int, default=Supervision.startsecs)
    parser.add_argument("--startretries", type=int, default=Supervision.startretries)
    args = parser.parse_args(argv)
    try:
        procfile = parse_procfile(Path(args.procfile).read_text(encoding="utf-8"))
        programs = select(procfile, args.services.split(), parse_scale(args.scale, list(procfile)))
    except (ConfigError, OSError) as exc:
        print(f"supervisor_conf: {exc}", file=sys.stderr)
        return 2
    absolute = [Path(p).resolve() for p in (args.root, args.log_dir, args.run_dir)]
    sys.stdout.write(render(programs, *absolute,
                            Supervision(startsecs=args.startsecs, startretries=args.startretries)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
