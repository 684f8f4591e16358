"""``/invoices/import``: upload a CSV or XLSX file, read the dry run's table (errors
highlighted per field), then commit and watch the job's progress. The page's script
does the work through ``/api/invoices/import`` and ``/api/imports/{id}``."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.page import Page

# the row cells the table shows; an error on another field is listed in the last column
TABLE_COLUMNS = ("external_id", "title", "type", "amount", "issued_on", "customer_name",
                 "contract_number", "invoice_no")


def import_page(page: Page) -> Response:
    if not page.can("invoice.create"):
        return page.render("error.html", status=403, status_code=403, message="")
    columns = [(name, page.gettext(f"field.{name}")) for name in TABLE_COLUMNS]
    return page.render("import.html", columns=columns)
