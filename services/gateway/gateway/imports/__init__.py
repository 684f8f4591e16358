"""Bulk import of invoices from a CSV or XLSX file in the export's columns: reading
the file (``files``), turning rows into ``create_invoice`` data (``rows``), and the
persisted jobs that run them batch by batch (``jobs``)."""
