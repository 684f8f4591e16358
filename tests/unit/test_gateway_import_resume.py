"""What lets an import job be resumed without creating a row twice (no services: the
invoice service answered by a hand-written fake)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.imports.jobs import MAX_RESUMES, file_parts, import_batch, unresumable
from gateway.imports.rows import RowMaker, row_values

COLUMNS = ["external_id", "title", "type", "invoice_no"]


class InvoiceService:
    """``import_invoices`` that remembers the import keys it stored, as the real one does."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.sent: list[dict[str, Any]] = []

    def __call__(self, service: str, method: str, rows: list[dict[str, Any]], **kwargs: Any) -> Any:
        assert (service, method) == ("invoice", "import_invoices")
        self.sent += rows
        answers = []
        for row in rows:
            key = row["external_id"]
            if key in self.keys:
                answers.append({"status": "skipped", "invoice_id": self.keys[key],
                                "message": f"external_id {key!r} was imported before"})
            else:
                self.keys[key] = f"inv_{len(self.keys)}"
                answers.append({"status": "created", "invoice_id": self.keys[key], "number": "N"})
        return answers


def batch(service: InvoiceService, lines: list[list[str]], start: int = 0) -> list[dict[str, Any]]:
    return import_batch(RowMaker(service), COLUMNS, lines, start, True, service, 10, "imp_1")


def test_a_row_without_external_id_is_sent_with_the_jobs_key_for_it() -> None:
    service = InvoiceService()

    batch(service, [["erp-1", "甲", "receipt", ""], ["", "乙", "receipt", ""]], start=40)

    assert [row["external_id"] for row in service.sent] == ["erp-1", "job:imp_1:41"]


def test_a_batch_run_again_creates_nothing_and_answers_its_own_rows_created() -> None:
    service = InvoiceService()
    lines = [["erp-1", "甲", "receipt", ""], ["", "乙", "receipt", ""]]
    first = batch(service, lines)

    again = batch(service, lines)

    assert len(service.keys) == 2
    assert [r["status"] for r in again] == ["skipped", "created"]
    assert again[1]["invoice_id"] == first[1]["invoice_id"] and "external_id" not in again[1]
    assert "resumed" in again[1]["message"]


def test_an_external_id_may_not_pose_as_a_jobs_key() -> None:
    _, errors = RowMaker(InvoiceService()).make(2, row_values(COLUMNS, ["job:imp_2:0", "甲", "receipt", ""]))

    assert list(errors) == ["external_id"]


def test_a_repeat_of_a_row_done_before_the_resume_is_still_a_repeat() -> None:
    maker = RowMaker(InvoiceService())
    maker.remember(2, row_values(COLUMNS, ["erp-1", "甲", "receipt", "N1"]))

    _, errors = maker.make(9, row_values(COLUMNS, ["erp-1", "乙", "receipt", "N1"]))

    assert errors == {"external_id": ["repeats row 2 of this file"],
                      "invoice_no": ["repeats row 2 of this file (same type)"]}


def test_the_files_rows_are_stored_in_parts_that_never_split_a_row() -> None:
    lines = [["x" * 700_000] for _ in range(7)]

    parts = file_parts(lines)

    assert [len(part) for part in parts] == [2, 2, 2, 1]
    assert [line for part in parts for line in part] == lines
    assert file_parts([["a"]]) == [[["a"]]]


def claimed(**overrides: Any) -> dict[str, Any]:
    return {"_id": "imp_1", "commit": True, "processed": 20, "total": 100, "resumed": 1,
            "columns": COLUMNS, "owner_claims": {"id": "u1", "roles": ["admin"]},
            "created_at": datetime.now(UTC), **overrides}


def test_a_job_is_resumed_unless_it_is_old_stopped_too_often_or_kept_no_rows() -> None:
    old = claimed(created_at=datetime.now(UTC) - timedelta(hours=9))
    too_often = claimed(resumed=MAX_RESUMES + 1)
    made_before = {key: value for key, value in claimed().items() if key != "columns"}

    assert unresumable(claimed()) is None
    for job in (old, too_often, made_before):
        reason = unresumable(job)
        assert reason is not None and reason.startswith("the import stopped after 20 of 100 rows")
        assert "send the same file again" in reason
