"""The search service: read projections of invoices, customers, contracts and payments,
built only from events, and the read calls over them (docs/rpc.md, "search").

Every call needs context data ``authorization: "Bearer <JWT>"`` and answers only with
what the caller may view.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nameko.dependency_providers import Config

from search.application import SearchApplication
from search.application.queries import Queries
from search.dependencies import SOURCES, SearchStorage, SearchStore
from search.ports import ReadPage
from search.projector_service import SearchProjector  # noqa: F401 - `nameko run search.service` starts both
from search.schemas import DEFAULT_LIMIT, MAX_LIMIT
from shared import ops
from shared.auth import Actor, Policy
from shared.errors import ValidationError
from shared.rpc import CurrentActor, PolicyProvider, rpc, system_rpc
from shared.schemas import flag_arg, id_arg


class SearchService(ops.OpsEndpoints):
    name = "search"

    actor: Actor = CurrentActor()
    policy: Policy = PolicyProvider()
    storage: SearchStorage = SearchStore()
    config = Config()

    def _application(self) -> SearchApplication:
        return SearchApplication(self.storage.views, self.policy, self.actor, self._sources,
                                 self.storage)

    def _queries(self) -> Queries:
        return self._application().queries()

    @contextmanager
    def _sources(self) -> Iterator[dict[str, ReadPage]]:
        """The source services' ``read_events``, over one connection as this service."""
        with system_rpc(self.config, self.name) as rpc_client:
            yield {source: getattr(rpc_client, source).read_events for source in SOURCES}

    # -- reads -----------------------------------------------------------------------
    @rpc
    def search(self, query: Any = None) -> dict[str, Any]:
        """``{"filters": [{"field": "type", "op": "eq", "value": "vat_special"}],
        "text": "顺丰", "sort": [{"field": "amount", "dir": "desc"}], "limit": 50}`` ->
        ``{items, total, next_cursor}``."""
        return self._queries().search(query)

    @rpc
    def get_invoice_view(self, invoice_id: Any, only_filled: Any = False) -> dict[str, Any]:
        """One invoice view (``only_filled`` leaves out empty fields)."""
        return self._queries().get_invoice_view(id_arg(invoice_id, "invoice_id"),
                                                flag_arg(only_filled, "only_filled"))

    @rpc
    def stats(self, query: Any = None, group_by: Any = None, as_of: Any = None) -> dict[str, Any]:
        """``stats({"filters": [...]}, ["type", "month"])`` ->
        ``{rows: [{type, month, count, amount}], total: {count, amount}}``. With ``as_of``
        (an ISO timestamp or an invoice-store position) the figures as they stood then,
        from a fold of the events up to it, plus ``as_of: {timestamp, invoice_position,
        customer_position}`` naming the last events included."""
        return self._application().stats(query, group_by, as_of)

    @rpc
    def calendar(self, year: Any, month: Any, query: Any = None, as_of: Any = None) -> Any:
        """``calendar(2026, 4)`` -> ``[{date, count, amount}]`` for days with invoices.
        With ``as_of`` (as for ``stats``): ``{days: [...], as_of: {...}}``."""
        return self._application().calendar(year, month, query, as_of)

    @rpc
    def customer_invoices(self, customer_id: Any, limit: Any = DEFAULT_LIMIT,
                          cursor: Any = None) -> dict[str, Any]:
        """The customer tab: ``{items, count, amount, next_cursor}`` (active invoices)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationError.field("limit", f"must be an integer from 1 to {MAX_LIMIT}")
        if cursor is not None and not isinstance(cursor, str):
            raise ValidationError.field("cursor", "must be a cursor string from a previous page")
        return self._queries().customer_invoices(id_arg(customer_id, "customer_id"), limit, cursor)

    @rpc
    def reconciliation(self, customer_id: Any = None, contract_id: Any = None) -> list[dict[str, Any]]:
        """Per contract: amount, received, invoiced, payments with the invoices covering them."""
        return self._queries().reconciliation(
            None if customer_id is None else id_arg(customer_id, "customer_id"),
            None if contract_id is None else id_arg(contract_id, "contract_id"))

    @rpc
    def uninvoiced_payments(self, query: Any = None) -> dict[str, Any]:
        """Payments no active invoice covers; filters on customer_id, contract_id,
        received_on, amount: ``{"filters": [{"field": "received_on", "op": "gte", "value": "2026-04-01"}]}``."""
        return self._queries().uninvoiced_payments(query)

    @rpc
    def projection_status(self) -> dict[str, Any]:
        """``{last_position, lag_events, rebuilding, generation, sources}``."""
        return self._application().projection_status()
