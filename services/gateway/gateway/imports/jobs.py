"""Import jobs, kept in the gateway database so that a restart does not lose them.

A job (collection ``imports``) keeps its file's rows (``import_files``, a few thousand
rows a document: one document would hit MongoDB's 16 MB) and its owner's identity
claims (never a token), both written before it starts. It counts its rows as each
batch is answered (``processed``: the batches before it are done); each row's answer
is one document in ``import_rows``. The gateway process running a job (``runner``)
beats (``heartbeat_at``) every quarter of ``stale_after``; a job whose beat is older
died with its gateway (kill -9, a crash, a stop): any gateway claims it (one atomic
update: one winner) and continues from its first unfinished batch, as its owner.

Nothing is created twice: every committed row has an import key — its ``external_id``,
or ``job:<job id>:<row index>`` without one — that the invoice service stores in the
same transaction as the invoice, so a batch run again skips what was stored, and its
answers and counts are written once (the count moves only from the batch's start).
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from pymongo import ASCENDING, ReplaceOne
from pymongo.database import Database

from gateway.imports.rows import JOB_KEY_PREFIX, RowMaker, merged, row_values
from gateway.problems import ServiceUnavailable
from shared.actor import Actor
from shared.errors import ServiceError

log = logging.getLogger(__name__)

STATUSES = ("ok", "created", "skipped", "error")
JOB_TTL_SECONDS = 30 * 24 * 3600
FIRST_LINE = 2   # the header is line 1 of the file
FILE_PART_CHARS = 2_000_000   # about the cells of one ``import_files`` document
MAX_RESUMES = 3               # a job that stopped its gateway this often is failed, not resumed
RESUME_WITHIN = timedelta(hours=8)   # as long as a session: the gateway acts for the owner


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
    db.import_files.create_index([("created_at", ASCENDING)], expireAfterSeconds=JOB_TTL_SECONDS,
                                 name="import_files_ttl")
    db.imports.create_index([("status", ASCENDING), ("heartbeat_at", ASCENDING)],
                            name="imports_by_status")


def runner_id() -> str:
    """This gateway process, as the runner of the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LostJob(Exception):
    """Raised when another gateway took the job over (this one was thought dead)."""


@dataclass(frozen=True)
class Owner:
    """Who a job runs as: the caller's verified claims, and the username of a signed-in
    person (whose current entry in the users file is then used on resume)."""

    actor: Actor
    username: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.actor.to_dict(), "username": self.username}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Owner:
        return cls(Actor.from_dict(data), data.get("username"))


class ImportStore:
    def __init__(self, db: Database[Any], settings: ImportSettings, runner: str) -> None:
        self.jobs = db.imports
        self.rows = db.import_rows
        self.files = db.import_files
        self.settings = settings
        self.runner = runner

    def create(self, owner: Owner, filename: str, fmt: str, commit: bool, columns: list[str],
               lines: list[list[str]], ignored_columns: list[str]) -> dict[str, Any]:
        """The job, its rows stored first (a job is never without them)."""
        now = datetime.now(UTC)
        job_id = f"imp_{uuid.uuid4().hex}"
        self.files.insert_many([{"_id": f"{job_id}:{n:04d}", "job_id": job_id, "lines": part,
                                 "created_at": now} for n, part in enumerate(file_parts(lines))])
        job = {"_id": job_id, "owner": owner.actor.id, "owner_claims": owner.to_dict(),
               "filename": filename, "format": fmt, "commit": commit, "status": "queued",
               "columns": columns, "total": len(lines), "processed": 0,
               "summary": dict.fromkeys(STATUSES, 0), "ignored_columns": ignored_columns,
               "message": None, "created_at": now, "runner": self.runner, "resumed": 0,
               "heartbeat_at": now, "finished_at": None}
        self.jobs.insert_one(job)
        return job

    def lines(self, job_id: str) -> list[list[str]]:
        """The job's rows as read from its file."""
        found = self.files.find({"_id": {"$gte": f"{job_id}:", "$lt": f"{job_id};"}}).sort("_id", ASCENDING)
        return [line for part in found for line in part["lines"]]

    def record(self, job_id: str, first_index: int, results: list[dict[str, Any]]) -> None:
        """One batch's answers, then the counts — only from the batch's start, and only
        while this gateway runs the job (LostJob otherwise). A kill in between: the
        batch runs again on resume, its answers are replaced and counted once."""
        now = datetime.now(UTC)
        self.rows.bulk_write([ReplaceOne({"_id": f"{job_id}:{first_index + n:06d}"}, {
            "job_id": job_id, "index": first_index + n, "line": FIRST_LINE + first_index + n,
            "created_at": now, **result}, upsert=True) for n, result in enumerate(results)])
        counts: dict[str, int] = {}
        for result in results:
            key = f"summary.{result['status']}"
            counts[key] = counts.get(key, 0) + 1
        counted = self.jobs.update_one(
            {"_id": job_id, "runner": self.runner, "processed": first_index},
            {"$inc": counts, "$set": {"processed": first_index + len(results),
                                      "status": "running", "heartbeat_at": now}})
        if counted.matched_count == 0:
            raise LostJob(job_id)

    def beat(self, job_id: str) -> None:
        """While the job runs (a batch may take longer than ``stale_after``): it lives."""
        while True:
            eventlet.sleep(self.settings.stale_after / 4)
            self.jobs.update_one({"_id": job_id, "runner": self.runner,
                                  "status": {"$in": ["queued", "running"]}},
                                 {"$set": {"heartbeat_at": datetime.now(UTC)}})

    def finish(self, job_id: str, status: str, message: str | None = None) -> None:
        self.jobs.update_one({"_id": job_id, "runner": self.runner}, {"$set": {
            "status": status, "message": message, "finished_at": datetime.now(UTC)}})

    def note(self, job_id: str, message: str) -> None:
        self.jobs.update_one({"_id": job_id, "runner": self.runner}, {"$set": {"message": message}})

    def get(self, job_id: str, owner: str) -> dict[str, Any] | None:
        return self.jobs.find_one({"_id": job_id, "owner": owner})

    def claim_stale(self) -> dict[str, Any] | None:
        """One job whose gateway died, now this one's (``resumed`` counted), or None.
        The update matches the beat it saw: of two gateways claiming, one wins."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.stale_after)
        for job in self.jobs.find({"status": {"$in": ["queued", "running"]},
                                   "heartbeat_at": {"$lt": cutoff}}).limit(10):
            claimed = self.jobs.find_one_and_update(
                {"_id": job["_id"], "runner": job.get("runner"), "heartbeat_at": job["heartbeat_at"]},
                {"$set": {"runner": self.runner, "status": "running",
                          "heartbeat_at": datetime.now(UTC)}, "$inc": {"resumed": 1}},
                return_document=True)
            if claimed is not None:
                return dict(claimed)
        return None

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


def file_parts(lines: list[list[str]]) -> list[list[list[str]]]:
    """The rows in parts of about ``FILE_PART_CHARS`` characters (a row is never split)."""
    parts: list[list[list[str]]] = [[]]
    size = 0
    for line in lines:
        chars = sum(len(cell) for cell in line) + 8 * len(line)
        if parts[-1] and size + chars > FILE_PART_CHARS:
            parts.append([])
            size = 0
        parts[-1].append(line)
        size += chars
    return parts


def unresumable(job: dict[str, Any]) -> str | None:
    """Why a claimed job is failed instead of resumed, or None."""
    if "owner_claims" not in job or "columns" not in job:   # made before jobs kept their rows
        return stopped_message(job, "its gateway was stopped or died")
    if job["resumed"] > MAX_RESUMES:
        return stopped_message(job, f"its gateway stopped {MAX_RESUMES + 1} times: not resumed again")
    if job["created_at"].replace(tzinfo=UTC) < datetime.now(UTC) - RESUME_WITHIN:
        return stopped_message(job, "its gateway stopped; too old to resume")
    return None


def stopped_message(job: dict[str, Any], why: str) -> str:
    again = ("send the same file again: rows whose external_id was imported are skipped, "
             "rows without one would be created again" if job["commit"] else "send the file again")
    return f"the import stopped after {job['processed']} of {job['total']} rows ({why}); {again}"


def resumed_message(job: dict[str, Any]) -> str:
    times = "once" if job["resumed"] == 1 else f"{job['resumed']} times"
    return f"resumed {times} after its gateway stopped: rows stored before are not created again"


def job_view(job: dict[str, Any], rows: list[dict[str, Any]], offset: int,
             status: str | None) -> dict[str, Any]:
    """The wire form of a job with one page of its rows (of one ``status``, or all)."""
    matching = int(job["summary"].get(status, 0)) if status else int(job["processed"])
    following = offset + len(rows)
    return {"id": job["_id"], "status": job["status"], "commit": job["commit"],
            "filename": job["filename"], "format": job["format"], "total": job["total"],
            "processed": job["processed"], "summary": job["summary"],
            "resumed": int(job.get("resumed") or 0),
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
        commit: bool, call: Call, refresh: Callable[[], None], first: int = 0,
        message: str | None = None) -> None:
    """Every row from ``first`` (a resumed job: its first unfinished batch) in batches:
    name lookups and repeats here, the rest in the invoice service
    (``import_invoices``), each batch's answers stored as they come. ``call`` is
    ``(service, method, *args, **kwargs)``; ``refresh`` renews the owner's token before
    each batch (a session's token lives 5 minutes)."""
    maker = RowMaker(call)
    for index in range(first):    # repeats of rows done before the resume are still repeats
        maker.remember(FIRST_LINE + index, row_values(columns, lines[index]))
    batch = store.settings.batch_rows
    done = first
    beating = eventlet.spawn(store.beat, job_id)
    try:
        for start in range(first, len(lines), batch):
            refresh()
            results = import_batch(maker, columns, lines[start:start + batch], start, commit,
                                   call, store.settings.rpc_timeout, job_id)
            store.record(job_id, start, results)
            done = start + len(results)
        store.finish(job_id, "done", message)
    except LostJob:
        log.warning("import job %s was taken over by another gateway", job_id)
    except (ServiceError, ServiceUnavailable) as exc:
        store.finish(job_id, "failed", f"stopped after {done} of {len(lines)} rows: {describe(exc)}")
    except Exception:  # noqa: BLE001 - the job must end, whatever broke
        log.exception("import job %s failed", job_id)
        store.finish(job_id, "failed", f"stopped after {done} of {len(lines)} rows: "
                     "an internal error (logged); send the file again")
    finally:
        beating.kill()


def import_batch(maker: RowMaker, columns: list[str], lines: list[list[str]], start: int,
                 commit: bool, call: Call, timeout: float, job_id: str) -> list[dict[str, Any]]:
    """Rows refused here (unknown names, repeats) are only checked by the service
    (never created), so their other errors show too. A committed row without an
    external_id is sent with the job's key for it: run again, it is skipped — and
    answered ``created``, as this job did create it."""
    values = [row_values(columns, cells) for cells in lines]
    prepared = [maker.make(FIRST_LINE + start + n, row) for n, row in enumerate(values)]
    keyed = {n for n, (data, _) in enumerate(prepared) if commit and not data.get("external_id")}
    sent = [({**data, "external_id": f"{JOB_KEY_PREFIX}{job_id}:{start + n}"} if n in keyed else data,
             before) for n, (data, before) in enumerate(prepared)]
    clean = [n for n, (_, before) in enumerate(prepared) if not before]
    refused = [n for n, (_, before) in enumerate(prepared) if before]
    answers: dict[int, dict[str, Any]] = {}
    for indexes, create in ((clean, commit), (refused, False)):
        if indexes:
            found = call("invoice", "import_invoices", [sent[n][0] for n in indexes],
                         commit=create, timeout=timeout)
            answers.update(zip(indexes, found, strict=True))
    results = []
    for n, (data, before) in enumerate(prepared):
        result = merged(answers[n], before)
        if n in keyed and result["status"] == "skipped":
            result = {"status": "created", "message": "created before the job was resumed",
                      **({"invoice_id": result["invoice_id"]} if "invoice_id" in result else {})}
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
