"""Reading an uploaded import file: a CSV (UTF-8, with or without BOM, or GB 18030 as
Excel in Chinese saves it) or an XLSX workbook (its first sheet). The type is decided
from the content, not the file name. Every refusal names the field ``file``."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook

from shared.errors import ValidationError

XLSX_MAGIC = b"PK\x03\x04"
MAX_ROWS = 20_000
MAX_COLUMNS = 200
# a job keeps its rows in documents of at most 16 MB (MongoDB's limit), a row whole
MAX_ROW_CHARS = 1_000_000


@dataclass(frozen=True)
class Table:
    format: str                  # "csv" | "xlsx"
    columns: list[str]
    rows: list[list[str]]        # every cell as text, blank lines left out


def file_error(message: str) -> ValidationError:
    return ValidationError.field("file", message)


def read_table(content: bytes) -> Table:
    if not content.strip():
        raise file_error("the file is empty")
    if content.startswith(XLSX_MAGIC):
        fmt, lines = "xlsx", _xlsx_lines(content)
    elif b"\0" in content[:8192]:
        raise file_error("not a CSV or XLSX file")
    else:
        fmt, lines = "csv", _csv_lines(content)
    header = next(lines, None)
    if header is None or not any(cell.strip() for cell in header):
        raise file_error("the first row must name the columns (as the export does)")
    columns = [cell.strip().lstrip("\ufeff") for cell in header]
    while columns and not columns[-1]:
        columns.pop()
    _check_columns(columns)
    rows: list[list[str]] = []
    for number, line in enumerate(lines, start=2):
        if any(cell.strip() for cell in line):
            kept = [*line[:len(columns)], *[""] * (len(columns) - len(line))]
            if sum(len(cell) for cell in kept) > MAX_ROW_CHARS:
                raise file_error(f"row {number} is larger than {MAX_ROW_CHARS:,} characters")
            rows.append(kept)
            if len(rows) > MAX_ROWS:
                raise file_error(f"at most {MAX_ROWS} rows in one file")
    if not rows:
        raise file_error("the file has a header but no rows")
    return Table(fmt, columns, rows)


def _check_columns(columns: list[str]) -> None:
    if len(columns) > MAX_COLUMNS:
        raise file_error(f"at most {MAX_COLUMNS} columns")
    blank = [str(n + 1) for n, name in enumerate(columns) if not name]
    if blank:
        raise file_error(f"column(s) {', '.join(blank)} have no name in the header row")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise file_error(f"column(s) named more than once: {', '.join(repeated)}")


def _csv_lines(content: bytes) -> Any:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence
        raise file_error("the CSV is neither UTF-8 nor GB 18030 text")
    try:
        return iter(list(csv.reader(io.StringIO(text, newline=""))))
    except csv.Error as exc:
        raise file_error(f"not a readable CSV file: {exc}") from None


def _xlsx_lines(content: bytes) -> Any:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise file_error(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        lines = []
        # stop early: a small zip can hold a huge sheet
        for row in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
            lines.append([cell_text(value) for value in row])
            if len(lines) > MAX_ROWS + 1:
                raise file_error(f"at most {MAX_ROWS} rows in one file")
    finally:
        workbook.close()
    return iter(lines)


def cell_text(value: Any) -> str:
    """A workbook cell as the text the export would have written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
