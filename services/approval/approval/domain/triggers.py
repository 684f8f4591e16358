"""When an invoice event opens a request: the invoice state folded from its events
(the approval service's small replica) and the trigger rule on it (both shared with the
invoice service: shared.invoice_events, shared.flow_rules).

Conditions are evaluated on the invoice's state right after the triggering event, so
the replica is folded in the same tracked step that decides (fetching the invoice by
RPC instead would see a later state when edits follow each other quickly)."""
from __future__ import annotations

from shared.flow_rules import changed_fields, first_triggered, holds, triggers
from shared.invoice_events import fold as fold_invoice

__all__ = ["changed_fields", "first_triggered", "fold_invoice", "holds", "triggers"]
