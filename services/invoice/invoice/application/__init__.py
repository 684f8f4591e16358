"""The invoice service's use cases: invoices (create, change, void, credit, import,
attachments, approval outcomes) and settings (invoice types, custom fields). Load ->
decide -> save; no transport code."""
from invoice.application.invoices import InvoiceApplication, RowRunner, in_order
from invoice.application.settings import SettingsApplication

__all__ = ["InvoiceApplication", "RowRunner", "SettingsApplication", "in_order"]
