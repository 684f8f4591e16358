"""The ports the search use cases need: the views they query (adapters/: MongoDB, and in
memory for an as-of fold), the source services' event logs, and where the projection
stands (the SearchStorage provider in dependencies.py)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

# A source service's ``read_events(after_position, limit)`` -> ``{events, ...}``.
ReadPage = Callable[[int, int], Mapping[str, Any]]


class Views(Protocol):
    """The views the read use cases query."""

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """One invoice view, or None."""

    def contract(self, contract_id: str | None) -> dict[str, Any] | None:
        """One contract view, or None."""

    def custom_fields(self) -> list[dict[str, Any]]:
        """The custom field settings (their kinds type the query language)."""

    def find_invoices(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Candidate invoice views for a driver filter (the queries check each)."""

    def find_buckets(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Pre-summed buckets for a driver filter (none: count from the views)."""

    def complete_families(self) -> frozenset[str]:
        """The bucket families that count every invoice view here (a projection older
        than a family lacks it; see search.domain.buckets)."""

    def find(self, name: str, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Customer-side views (``customers``, ``contracts``, ``payments``) by equality."""


class EventSources(Protocol):
    """The source services' event logs by source name (``invoice``, ``customer``), open
    for the length of one use case."""

    def __call__(self) -> AbstractContextManager[Mapping[str, ReadPage]]:
        """Open the sources (a connection to each service) until the block ends."""


class Projection(Protocol):
    """Where the projector stands."""

    def generation(self) -> int:
        """The generation of views served now."""

    def position(self, generation: int, source: str) -> int:
        """The last source position the generation's views include."""

    def rebuilding(self) -> bool:
        """Whether a rebuild of the views is running."""

    def consumers(self, generation: int) -> list[str]:
        """The consumer names the generation's projector keeps its positions under."""
