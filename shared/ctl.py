"""``invoicectl``: the operator's and auditor's command line (typer + rich).

    invoicectl status [--json]                     instances, health, relays, queues, DLQs
    invoicectl dlq list|show QUEUE|replay QUEUE    parked events (wraps shared.dlq)
    invoicectl audit verify SERVICE                hash chains through RPC (shared.audit)
    invoicectl audit export FILE                   every event + stream heads, JSON lines
    invoicectl audit check FILE                    verify such a file offline
    invoicectl search rebuild|verify               wraps search.rebuild

Connection settings come from the environment like the services': ``AMQP_URI``,
``MONGO_URL``, ``MONGO_DB_PREFIX``, ``INVOICE_AUTH_SECRET``, ``RUN_DIR`` (port files).
RPC calls (``audit verify``) go over the internal-caller account
(``INVOICE_CLIENT_AMQP_URI``, else ``AMQP_URI``; ``shared.rpc_client.client_proxy``)
with ``--token`` / ``INVOICE_TOKEN``, or in dev mode an HS256 auditor token.
The old module entry points (``python -m shared.dlq``, ``shared.audit``,
``search.rebuild``) keep working.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")  # printed on import by nameko

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from shared import audit_file, dlq
from shared.auth import bearer, dev_secret, is_dev_mode, issue_token
from shared.instances import by_label, discover, get, scrape

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"

app = typer.Typer(help="Operate and audit the invoice services.", no_args_is_help=True,
                  add_completion=False)
dlq_app = typer.Typer(help="Parked events (dead-letter queues).", no_args_is_help=True)
audit_app = typer.Typer(help="Hash chains, exports and offline checks.", no_args_is_help=True)
search_app = typer.Typer(help="The search projections.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.add_typer(audit_app, name="audit")
app.add_typer(search_app, name="search")
err = Console(stderr=True)
out = Console()


def _amqp_uri() -> str:
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=err,
                    transient=False)


# -- status ---------------------------------------------------------------------------
def collect_status(run_dir: Path | None = None) -> dict[str, Any]:
    """Every instance's health and the relays, queues and consumers its metrics show."""
    instances, pages = [], []
    for info in discover(run_dir):
        status, body = get(info["health_url"])
        try:
            health = json.loads(body) if status else {}
        except ValueError:
            health = {}
        page = scrape(info["metrics_url"])
        pages.append(page)
        instances.append({"service": info["service"], "instance": info.get("instance"),
                          "pid": info.get("pid"), "health_url": info["health_url"],
                          "metrics_url": info["metrics_url"], "live": status != 0,
                          "ready": status == 200, "checks": health.get("checks", {})})
    relays: dict[str, dict[str, float]] = {}
    for key, name in (("position", "crm_relay_position"), ("head", "crm_store_head_position"),
                      ("lag_events", "crm_relay_lag_events"), ("lag_seconds", "crm_relay_lag_seconds")):
        for store, value in by_label(pages, name, "store").items():
            relays.setdefault(store, {})[key] = value
    queues: dict[str, dict[str, float]] = {}
    for key, name in (("messages", "crm_queue_messages"), ("dlq_messages", "crm_dlq_messages")):
        for queue, value in by_label(pages, name, "queue").items():
            queues.setdefault(queue, {})[key] = value
    open_requests = by_label(pages, "crm_approval_open_requests", "le").get("+Inf")
    return {"instances": sorted(instances, key=lambda i: (i["service"], str(i["pid"]))),
            "relays": relays, "queues": queues,
            "approval": {"open_requests": open_requests,
                         "oldest_open_seconds": max(by_label(
                             pages, "crm_approval_oldest_open_request_seconds", "").values(), default=None)},
            "ok": bool(instances) and all(i["ready"] for i in instances)
            and not any(q.get("dlq_messages") for q in queues.values())}


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="print JSON"),
           run_dir: Path | None = typer.Option(None, help="where the port files are (default $RUN_DIR or var/run)")) -> None:
    """Is everything healthy, is anything behind or parked? One screen."""
    report = collect_status(run_dir)
    if as_json:
        _print_json(report)
    else:
        _show_status(report)
    raise typer.Exit(0 if report["ok"] else 1)


def _show_status(report: dict[str, Any]) -> None:
    table = Table(title="instances")
    for column in ("service", "instance", "ready", "checks", "metrics"):
        table.add_column(column)
    for i in report["instances"]:
        failing = {k: v for k, v in i["checks"].items() if v != "ok"}
        table.add_row(i["service"], str(i["instance"]), "[green]ready" if i["ready"] else "[red]NOT READY",
                      "ok" if not failing else "; ".join(f"{k}: {v}" for k, v in failing.items()),
                      i["metrics_url"])
    out.print(table if report["instances"] else "[red]no running instances found (port files in RUN_DIR)")
    relays = Table(title="outbox relays")
    for column in ("store", "published", "head", "lag (events)", "lag (s)"):
        relays.add_column(column)
    for store, r in sorted(report["relays"].items()):
        relays.add_row(store, f"{r.get('position', 0):.0f}", f"{r.get('head', 0):.0f}",
                       f"{r.get('lag_events', 0):.0f}", f"{r.get('lag_seconds', 0):.1f}")
    out.print(relays)
    queues = Table(title="consumer queues")
    for column in ("queue", "waiting", "parked (DLQ)"):
        queues.add_column(column)
    for queue, q in sorted(report["queues"].items()):
        parked = q.get("dlq_messages", 0)
        queues.add_row(queue, f"{q.get('messages', 0):.0f}", f"[red]{parked:.0f}" if parked else "0")
    out.print(queues)
    approval = report["approval"]
    if approval["open_requests"] is not None:
        out.print(f"open approval requests: {approval['open_requests']:.0f}, oldest "
                  f"{(approval['oldest_open_seconds'] or 0) / 3600:.1f} h")


# -- dlq ------------------------------------------------------------------------------
@contextmanager
def _broker() -> Iterator[Any]:
    """A connection to AMQP_URI; an unreachable broker or a shared.dlq error (no such
    queue, rabbitmqctl failed) ends the command with one line and exit code 1."""
    from kombu import Connection
    from kombu.exceptions import OperationalError
    try:
        with Connection(_amqp_uri()) as connection:
            connection.ensure_connection(max_retries=1)
            yield connection
    except (OperationalError, ConnectionError) as exc:
        err.print(f"error: cannot reach the broker at {Connection(_amqp_uri()).as_uri()}: {exc}")
        raise typer.Exit(1) from exc
    except dlq.DlqError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from exc


@dlq_app.command("list")
def dlq_list(as_json: bool = typer.Option(False, "--json"),
             node: str = typer.Option("", help="the RabbitMQ node to ask (default: the one serving AMQP_URI)")) -> None:
    """Dead-letter queues and how many events each holds (needs rabbitmqctl)."""
    with _broker() as connection:
        parked = dlq.list_parked(connection, node or None)
    if as_json:
        _print_json([{"queue": name, "messages": count} for name, count in parked])
        return
    for name, count in parked:
        out.print(f"{count:8d}  {name}")
    if not parked:
        out.print("no dead-letter queues")


@dlq_app.command("show")
def dlq_show(queue: str, limit: int = typer.Option(20, help="at most this many")) -> None:
    """Print parked events of QUEUE, leaving them parked."""
    with _broker() as connection:
        shown = dlq.show(connection, queue, limit)
    err.print(f"{shown} shown (left on {queue})")


@dlq_app.command("replay")
def dlq_replay(queue: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Move every parked event of QUEUE back to the queue it came from."""
    with _broker() as connection:
        moved = dlq.replay(connection, queue)
    if as_json:
        _print_json({"queue": queue, "replayed": moved})
    else:
        out.print(f"replayed {moved} from {queue}")


# -- audit ----------------------------------------------------------------------------
def _auditor_hub(token: str | None) -> Any:
    from shared import rpc_errors  # noqa: F401 - replies carry the contract errors by type
    from shared.rpc_client import client_proxy
    token = token or os.environ.get("INVOICE_TOKEN")
    if not token:
        if not is_dev_mode({}):
            raise typer.BadParameter("outside dev mode pass an auditor token from the identity "
                                     "provider (--token or INVOICE_TOKEN)", param_hint="--token")
        token = bearer(issue_token(dev_secret({}), sub="invoicectl", name="invoicectl",
                                   roles=["auditor"], ttl_seconds=3600))
    elif not token.startswith("Bearer "):
        token = bearer(token)
    uri = os.environ.get("INVOICE_CLIENT_AMQP_URI") or _amqp_uri()
    return client_proxy(uri, token, timeout=120)


@audit_app.command("verify")
def audit_verify(service: str = typer.Argument(..., help="invoice, customer or approval"),
                 token: str | None = typer.Option(None, help='"Bearer <JWT>" (default: an auditor token)'),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Read SERVICE's whole history through RPC and check every hash chain."""
    from shared.audit import audit
    if service not in audit_file.STORES:
        raise typer.BadParameter("one of invoice, customer, approval", param_hint="SERVICE")
    with _auditor_hub(token) as hub, _progress() as progress:
        task = progress.add_task(service, total=None, rate="")
        report = audit(getattr(hub, service), progress=lambda n, rate: progress.update(
            task, completed=n, rate=f"{rate:,.0f} events/s"))
    if as_json:
        _print_json(report)
    else:
        out.print(f"{service}: {report['checked']} events in {report['streams']} streams, "
                  + ("all chains intact" if report["ok"] else f"{len(report['broken'])} problems"))
        for problem in report["broken"]:
            out.print(f"  {problem['invoice_id']} v{problem['version']}: {problem['reason']}")
    raise typer.Exit(0 if report["ok"] else 1)


@audit_app.command("export")
def audit_export(file: Path, stores: str = typer.Option(",".join(audit_file.STORES), help="comma-separated"),
                 token: str | None = typer.Option(None, help='"Bearer <JWT>" (default: an auditor token)'),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Write every event of the stores, with their stream heads, to FILE (JSON lines)."""
    names = [s.strip() for s in stores.split(",") if s.strip()]
    unknown = [s for s in names if s not in audit_file.STORES]
    if unknown:
        raise typer.BadParameter(f"unknown store {unknown[0]}", param_hint="--stores")
    with _auditor_hub(token) as hub, _progress() as progress, open(file, "w", encoding="utf-8") as handle:
        tasks = {name: progress.add_task(name, total=None, rate="") for name in names}
        counts = audit_file.export({name: getattr(hub, name) for name in names}, handle,
                                   progress=lambda store, n, _: progress.update(tasks[store], completed=n))
    if as_json:
        _print_json({"file": str(file), "events": counts})
    else:
        out.print(f"exported {sum(counts.values())} events to {file}: {counts}")


@audit_app.command("check")
def audit_check(file: Path, public_keys: Path | None = typer.Option(
                    None, help="JSON file of public keys: checks the signatures events carry"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Verify an export FILE offline: hash chains, versions without gaps, heads."""
    keys = json.loads(public_keys.read_text()) if public_keys else None
    if keys and audit_file.SIGNATURE_CHECK is None:
        err.print("no signature check is installed in this version: hashes and heads only")
    with _progress() as progress:
        task = progress.add_task("checked", total=None, rate="")
        report = audit_file.check(audit_file.read_lines(str(file)), keys, audit_file.SIGNATURE_CHECK,
                                  progress=lambda n: progress.update(task, completed=n))
        progress.update(task, completed=report.events)
    result = report.to_dict()
    if as_json:
        _print_json(result)
    else:
        for name, store in result["stores"].items():
            out.print(f"{name}: {store['events']} events in {store['streams']} streams")
        out.print(f"{result['events']} events in {result['seconds']} s "
                  f"({result['events_per_second']} events/s): "
                  + ("[green]all chains intact, heads match" if result["ok"]
                     else f"[red]{len(result['problems'])} problems"))
        for problem in result["problems"][:200]:
            out.print(f"  {problem['store']} {problem['stream_id']} v{problem['version']}: {problem['reason']}")
    raise typer.Exit(0 if result["ok"] else 1)


# -- search ---------------------------------------------------------------------------
def _search_rebuild() -> Any:
    if str(ROOT / "services" / "search") not in sys.path:
        sys.path.insert(0, str(ROOT / "services" / "search"))
    from search import rebuild
    return rebuild


@contextmanager
def _search_db() -> Iterator[tuple[Any, dict[str, Any]]]:
    from shared.mongo import connect, database, database_name
    rebuild = _search_rebuild()
    config = rebuild.config_from_env()
    client = connect(config["MONGO_URL"])
    try:
        yield database(client, database_name(config, "search")), config
    finally:
        client.close()


def _source_progress(progress: Progress) -> Any:
    tasks: dict[str, Any] = {}

    def show(source: str, position: int, total: int, rate: float) -> None:
        if source not in tasks:
            tasks[source] = progress.add_task(source, total=total or None, rate="")
        progress.update(tasks[source], completed=position, total=total or None,
                        rate=f"{rate:,.0f} events/s")
    return show


@search_app.command("rebuild")
def search_rebuild(page: int = typer.Option(1000, help="events per transaction"),
                   keep_old: bool = typer.Option(False, help="keep the old generation's collections"),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """Rebuild every projection into a new generation, then switch (resumable)."""
    rebuild = _search_rebuild()
    with _search_db() as (db, config), _progress() as progress:
        try:
            result = rebuild.rebuild(db, config, page, _source_progress(progress), keep_old)
        except KeyboardInterrupt:
            rebuild.Generations(db).set_rebuild({"state": "interrupted"})
            err.print("interrupted: run again to resume")
            raise typer.Exit(130) from None
    if as_json:
        _print_json(result)
    else:
        out.print(f"switched to generation {result['generation']}: {result['events']}")


@search_app.command("verify")
def search_verify(page: int = typer.Option(1000, help="events per transaction"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Compare the served projections with a fresh fold of the event stores."""
    rebuild = _search_rebuild()
    with _search_db() as (db, config), _progress() as progress:
        differences = rebuild.verify(db, config, page, _source_progress(progress))
    if as_json:
        _print_json({"ok": not differences, "differences": differences})
    else:
        out.print(f"{len(differences)} differences")
        for line in differences[:50]:
            out.print(line)
    raise typer.Exit(1 if differences else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
