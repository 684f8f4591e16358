"""Import jobs, kept in the gateway database so that a restart does not lose them.

A job (collection ``imports``) counts its rows as they are done; each row's answer is
one document in ``import_rows``. A running job beats (``heartbeat_at``) every quarter of
``stale_after``; one whose beat is older than ``stale_after`` died with its gateway (kill -9, a
crash): it is marked ``failed`` when next read, saying how far it got. Sending the same
file again is then safe: rows whose ``external_id`` was imported are skipped by the
invoice service, which stores that id in the same transaction as the invoice.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from pymongo import ASCENDING
from pymongo.database import Database

from gateway.imports.rows import RowMaker, merged, row_values
from gateway.problems import ServiceUnavailable
from shared.errors import ServiceError

log = logging.getLogger(__name__)

STATUSES = ("ok", "created", "skipped", "error")
JOB_TTL_SECONDS = 30 * 24 * 3600
FIRST_LINE = 2   # the header is line 1 of the file


@dataclass(frozen=True)
class ImportSettings:
    batch_rows: int = 100        # rows per invoice.import_invoices call
    sync_rows: int = 100         # files up to this many rows are answered at once
    stale_after: float = 60.0    # seconds without a heartbeat: the job died
    rpc_timeout: float = 120.0   # seconds one batch may take


def ensure_indexes(db: Database[Any]) -> None:
    db.imports.create_index([("created_at", ASCENDING)], expireAfterSeconds=JOB_TTL_SECONDS,
                            name="imports_ttl")
    db.import_rows.create_index([("created_at", ASCENDING)], expireAfterSeconds=JOB_TTL_SECONDS,
                                name="import_rows_ttl")
    db.import_rows.create_index([("job_id", ASCENDING), ("status", ASCENDING),
                                 ("index", ASCENDING)], name="import_rows_by_status")


class ImportStore:
    def __init__(self, db: Database[Any], settings: ImportSettings) -> None:
        self.jobs = db.imports
        self.rows = db.import_rows
        self.settings = settings

    def create(self, owner: str, filename: str, fmt: str, commit: bool, total: int,
               ignored_columns: list[str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        job = {"_id": f"imp_{uuid.uuid4().hex}", "owner": owner, "filename": filename,
               "format": fmt, "commit": commit, "status": "queued", "total": total,
               "processed": 0, "summary": dict.fromkeys(STATUSES, 0),
               "ignored_columns": ignored_columns, "message": None, "created_at": now,
               "heartbeat_at": now, "finished_at": None}
        self.jobs.insert_one(job)
        return job

    def record(self, job_id: str, first_index: int, results: list[dict[str, Any]]) -> None:
        """One batch's answers, then the counts (a kill in between re-counts nothing:
        the job is failed, not resumed)."""
        now = datetime.now(UTC)
        self.rows.insert_many([{"_id": f"{job_id}:{first_index + n:06d}", "job_id": job_id,
                                "index": first_index + n, "line": FIRST_LINE + first_index + n,
                                "created_at": now, **result}
                               for n, result in enumerate(results)])
        counts: dict[str, int] = {"processed": len(results)}
        for result in results:
            key = f"summary.{result['status']}"
            counts[key] = counts.get(key, 0) + 1
        self.jobs.update_one({"_id": job_id}, {"$inc": counts,
                                               "$set": {"status": "running", "heartbeat_at": now}})

    def beat(self, job_id: str) -> None:
        """While the job runs (a batch may take longer than ``stale_after``): it lives."""
        while True:
            eventlet.sleep(self.settings.stale_after / 4)
            self.jobs.update_one({"_id": job_id, "status": {"$in": ["queued", "running"]}},
                                 {"$set": {"heartbeat_at": datetime.now(UTC)}})

    def finish(self, job_id: str, status: str, message: str | None = None) -> None:
        self.jobs.update_one({"_id": job_id}, {"$set": {
            "status": status, "message": message, "finished_at": datetime.now(UTC)}})

    def get(self, job_id: str, owner: str) -> dict[str, Any] | None:
        job = self.jobs.find_one({"_id": job_id, "owner": owner})
        if job is not None and job["status"] in ("queued", "running") and \
                job["heartbeat_at"].replace(tzinfo=UTC) < \
                datetime.now(UTC) - timedelta(seconds=self.settings.stale_after):
            message = interrupted_message(job["processed"], job["total"], job["commit"])
            self.jobs.update_one({"_id": job_id, "heartbeat_at": job["heartbeat_at"]},
                                 {"$set": {"status": "failed", "message": message,
                                           "finished_at": datetime.now(UTC)}})
            job = self.jobs.find_one({"_id": job_id})
        return job

    def page(self, job_id: str, offset: int, limit: int, status: str | None) -> list[dict[str, Any]]:
        """Rows in file order. Unfiltered, a range of ``_id`` (``<job>:<index>``): one
        index walk however large the job; by status, the status index."""
        shown = {"_id": 0, "job_id": 0, "created_at": 0}
        if status:
            found = self.rows.find({"job_id": job_id, "status": status}, shown) \
                .sort("index", ASCENDING).skip(offset).limit(limit)
        else:
            found = self.rows.find({"_id": {"$gte": f"{job_id}:{offset:06d}", "$lt": f"{job_id};"}},
                                   shown).sort("_id", ASCENDING).limit(limit)
        return list(found)


def interrupted_message(processed: int, total: int, commit: bool) -> str:
    again = ("send the same file again: rows whose external_id was imported are skipped, "
             "rows without one would be created twice" if commit else "send the file again")
    return (f"the import stopped after {processed} of {total} rows (its gateway was stopped "
            f"or died); {again}")


def job_view(job: dict[str, Any], rows: list[dict[str, Any]], offset: int,
             status: str | None) -> dict[str, Any]:
    """The wire form of a job with one page of its rows (of one ``status``, or all)."""
    matching = int(job["summary"].get(status, 0)) if status else int(job["processed"])
    following = offset + len(rows)
    return {"id": job["_id"], "status": job["status"], "commit": job["commit"],
            "filename": job["filename"], "format": job["format"], "total": job["total"],
            "processed": job["processed"], "summary": job["summary"],
            "ignored_columns": job.get("ignored_columns") or [], "message": job.get("message"),
            "created_at": _iso(job["created_at"]), "finished_at": _iso(job.get("finished_at")),
            "rows": rows, "offset": offset,
            "next_offset": following if following < matching else None}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


Call = Callable[..., Any]


def run(store: ImportStore, job_id: str, columns: list[str], lines: list[list[str]],
        commit: bool, call: Call, refresh: Callable[[], None]) -> None:
    """Every row in batches: name lookups and repeats here, the rest in the invoice
    service (``import_invoices``), each batch's answers stored as they come. ``call``
    is ``(service, method, *args, **kwargs)``; ``refresh`` renews the caller's token
    before each batch (a session's token lives 5 minutes)."""
    maker = RowMaker(call)
    batch = store.settings.batch_rows
    done = 0
    beating = eventlet.spawn(store.beat, job_id)
    try:
        for start in range(0, len(lines), batch):
            refresh()
            results = import_batch(maker, columns, lines[start:start + batch], start, commit,
                                   call, store.settings.rpc_timeout)
            store.record(job_id, start, results)
            done = start + len(results)
        store.finish(job_id, "done")
    except (ServiceError, ServiceUnavailable) as exc:
        store.finish(job_id, "failed", f"stopped after {done} of {len(lines)} rows: {describe(exc)}")
    except Exception:  # noqa: BLE001 - the job must end, whatever broke
        log.exception("import job %s failed", job_id)
        store.finish(job_id, "failed", f"stopped after {done} of {len(lines)} rows: "
                     "an internal error (logged); send the file again")
    finally:
        beating.kill()


def import_batch(maker: RowMaker, columns: list[str], lines: list[list[str]], start: int,
                 commit: bool, call: Call, timeout: float) -> list[dict[str, Any]]:
    """Rows refused here (unknown names, repeats) are only checked by the service
    (never created), so their other errors show too."""
    values = [row_values(columns, cells) for cells in lines]
    prepared = [maker.make(FIRST_LINE + start + n, row) for n, row in enumerate(values)]
    clean = [n for n, (_, before) in enumerate(prepared) if not before]
    refused = [n for n, (_, before) in enumerate(prepared) if before]
    answers: dict[int, dict[str, Any]] = {}
    for indexes, create in ((clean, commit), (refused, False)):
        if indexes:
            found = call("invoice", "import_invoices", [prepared[n][0] for n in indexes],
                         commit=create, timeout=timeout)
            answers.update(zip(indexes, found, strict=True))
    results = []
    for n, (data, before) in enumerate(prepared):
        result = merged(answers[n], before)
        if data.get("external_id"):
            result = {"external_id": data["external_id"], **result}
        results.append({**result, "values": values[n]})   # as read, for the page's table
    return results


def describe(exc: Exception) -> str:
    if isinstance(exc, ServiceUnavailable):
        return f"the {exc.service} service did not answer in time"
    name = type(exc).__name__
    detail = exc.args[0] if exc.args else ""
    return f"{name}: {detail}" if detail else name
