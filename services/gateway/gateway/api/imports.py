"""``/api/invoices/import`` and ``/api/imports/{id}``: bulk import from a CSV or XLSX
file in the export's columns — a dry run unless ``?commit=true``; a small file is
answered at once (200), a larger one runs as a job (202, ``Location``) whose progress
and per-row answers ``GET /api/imports/{id}`` pages through."""
from __future__ import annotations

from functools import partial
from typing import Any

from marshmallow import fields, validate
from werkzeug.wrappers import Request, Response

from gateway.gatekeeper import Caller, Gatekeeper, required_caller
from gateway.http import json_response, params, route
from gateway.hub import ServiceHub
from gateway.imports.files import read_table
from gateway.imports.jobs import (
    STATUSES,
    Owner,
    job_view,
    resumed_message,
    run,
    stopped_message,
    unresumable,
)
from gateway.imports.provider import ImportDesk, resume_timer
from gateway.imports.rows import check_columns
from gateway.problems import HttpProblem
from gateway.schemas import Flag, Strict
from shared.actor import Actor
from shared.errors import ValidationError

TAG = "imports"
MB = 1024 * 1024
IMPORT_FILE_BYTES = 20 * MB
# the file and the form's boundaries and headers
IMPORT_BODY_BYTES = IMPORT_FILE_BYTES + 64 * 1024
FIRST_PAGE_ROWS = 200


class ImportQuery(Strict):
    commit = Flag(load_default=False, metadata={"description": "create the valid rows "
                                                               "(default: a dry run)"})


class ImportJobQuery(Strict):
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=FIRST_PAGE_ROWS, validate=validate.Range(1, 1000))
    status = fields.String(validate=validate.OneOf(STATUSES),
                           metadata={"description": "only rows with this answer"})


class ImportRoutes:
    services: ServiceHub
    imports: ImportDesk
    signin: Gatekeeper

    @route("POST", "/api/invoices/import", status=202, query=ImportQuery(), body="ImportUpload",
           body_media="multipart/form-data", returns="ImportJob", tag=TAG,
           max_body_bytes=IMPORT_BODY_BYTES, upload_field="file")
    def import_invoices(self, request: Request) -> Response:
        """Import invoices from a CSV or XLSX file (form field ``file``, ≤ 20 MB).

        The export's columns (``customer_name`` / ``contract_number`` / ``type_label``
        instead of the ids work too), plus ``external_id``: a row whose external_id was
        imported before is skipped. A dry run unless ``commit=true``. Up to
        ``IMPORT_SYNC_ROWS`` rows: 200 with every row's answer; more: 202, ``Location:
        /api/imports/{id}``, a job to follow."""
        caller = required_caller(request)
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError.field("file", "send the file as multipart/form-data field 'file'")
        content = upload.read(IMPORT_FILE_BYTES + 1)
        if len(content) > IMPORT_FILE_BYTES:
            raise HttpProblem(413, "Content Too Large", f"the file may have at most {IMPORT_FILE_BYTES} bytes",
                              errors={"file": [f"at most {IMPORT_FILE_BYTES // MB} MB"]})
        table = read_table(content)
        missing, ignored = check_columns(table.columns)
        if missing:
            raise ValidationError.field("file", f"missing column(s): {', '.join(missing)}")
        commit = bool(params(request)["commit"])
        self.services.invoice.import_invoices([], commit=commit)  # may this caller import?
        store = self.imports.store
        owner = Owner(caller.actor, caller.user.username if caller.user is not None else None)
        job = store.create(owner, upload.filename or "", table.format, commit, table.columns,
                           table.rows, ignored)
        work = partial(run, store, job["_id"], table.columns, table.rows, commit,
                       self._call, partial(self._refresh, caller))
        if len(table.rows) <= self.imports.settings.sync_rows:
            work()
            return self._job_response(job["_id"], caller, 0, len(table.rows), None, 200)
        self.imports.spawn(work)
        return self._job_response(job["_id"], caller, 0, FIRST_PAGE_ROWS, None, 202,
                                  {"Location": f"/api/imports/{job['_id']}"})

    @route("GET", "/api/imports/<job_id>", query=ImportJobQuery(), returns="ImportJob", tag=TAG)
    def get_import(self, request: Request, job_id: str) -> Response:
        """An import's status, progress (``processed`` of ``total``), counts per answer
        and one page of its rows (``offset``, ``limit``, ``status``; ``next_offset``)."""
        args = params(request)
        return self._job_response(job_id, required_caller(request), args["offset"],
                                  args["limit"], args.get("status"), 200)

    @resume_timer()
    def resume_imports(self) -> None:
        """A job whose gateway died (no beat for ``IMPORT_STALE_SECONDS``) is taken over
        and continued from its first unfinished batch, as its owner."""
        store = self.imports.store
        job = store.claim_stale()
        if job is None:
            return
        owner = self._owner_of(job)
        if isinstance(owner, str):
            store.finish(job["_id"], "failed", owner)
            return
        message = resumed_message(job)
        store.note(job["_id"], message)
        work = partial(run, store, job["_id"], job["columns"], store.lines(job["_id"]), job["commit"],
                       self._call, partial(self._act_as, owner.actor), first=job["processed"],
                       message=message)
        self.imports.spawn(work)

    def _owner_of(self, job: dict[str, Any]) -> Owner | str:
        """Who a resumed job runs as — a signed-in person as the users file has them now
        — or why it is not resumed."""
        reason = unresumable(job)
        if reason is not None:
            return reason
        owner = Owner.from_dict(job["owner_claims"])
        if owner.username is None:
            return owner
        user = self.signin.users.get(owner.username)
        if user is None:
            return stopped_message(job, f"its owner {owner.username!r} can no longer sign in")
        return Owner(self.signin.caller_for(user, None).actor, owner.username)

    def _act_as(self, actor: Actor) -> None:
        """A resumed job's calls: a fresh short-lived token of its owner per batch."""
        self.services.authorize(self.signin.authorization_for(actor))

    def _job_response(self, job_id: str, caller: Caller, offset: int, limit: int,
                      status: str | None, code: int,
                      headers: dict[str, str] | None = None) -> Response:
        store = self.imports.store
        job = store.get(job_id, caller.actor.id)
        if job is None:
            raise HttpProblem(404, "Not Found", f"import {job_id} not found")
        rows = store.page(job_id, offset, limit, status)
        view = job_view(job, rows, offset, status)
        return json_response(view, code, headers)

    def _call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.services.call(service, method, *args, **kwargs)

    def _refresh(self, caller: Caller) -> None:
        """A session's user token lives minutes; a long job makes a fresh one per batch."""
        if caller.session is not None and caller.user is not None:
            self.services.authorize(self.signin.caller_for(caller.user, caller.session).authorization)
