"""Figures as they stood at a past moment: fold the source events up to it into
in-memory views (the same projector the live views use) and answer from those, not
from today's views.

``as_of`` is an ISO timestamp (every invoice and customer event that occurred at or
before it) or an invoice-store position (every invoice event up to it, and the customer
events that occurred no later than the last of them). The answer is labelled with the
last positions included."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from search.adapters.memory import MemoryViews
from search.application.queries import Queries
from search.projector import Projector
from shared.dates import parse_timestamp
from shared.errors import ValidationError

ReadPage = Callable[[int, int], Mapping[str, Any]]
# events are stamped before their transaction commits; one committed later may carry an
# earlier stamp. Reading this far past the moment finds them (transactions live < 60 s).
STAMP_SLACK = dt.timedelta(seconds=60)
PAGE = 1000


@dataclass(frozen=True)
class Moment:
    timestamp: str | None = None
    position: int | None = None


def moment_arg(value: Any) -> Moment:
    """``as_of`` of a call: a position (int >= 0) or an ISO 8601 timestamp."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValidationError.field("as_of", "a position is 0 or more")
        return Moment(position=value)
    try:
        return Moment(timestamp=parse_timestamp(value))
    except ValueError as exc:
        raise ValidationError.field("as_of", f"a position or an ISO 8601 timestamp: {exc}") from None


class AsOfQueries(Queries):
    """Queries over folded views: always from the views, never from buckets."""

    def _bucket_rows(self, query: Any, group_by: Any, each: Any = None) -> None:
        return None


def _moment_of(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(parse_timestamp(stamp))


def fold(moment: Moment, read_invoice: ReadPage, read_customer: ReadPage) -> tuple[MemoryViews, dict[str, Any]]:
    """Views as of ``moment`` and the label: ``{timestamp, invoice_position, customer_position}``."""
    views = MemoryViews()
    projector = Projector(lambda _: views)  # type: ignore[arg-type, return-value]
    if moment.position is not None:
        invoice_events = _read(read_invoice, lambda e: int(e["position"]) <= moment.position,  # type: ignore[operator]
                               lambda e: int(e["position"]) > moment.position)  # type: ignore[operator]
        cut = max((str(e["occurred_at"]) for e in invoice_events), default=None)
    else:
        cut = parse_timestamp(moment.timestamp)
        invoice_events = _by_stamp(read_invoice, cut)
    customer_events = _by_stamp(read_customer, cut) if cut is not None else []
    for event in customer_events + invoice_events:  # customer records first (as a rebuild)
        projector.apply(event, None)
    label = {"timestamp": moment.timestamp if moment.position is None else cut,
             "invoice_position": max((int(e["position"]) for e in invoice_events), default=0),
             "customer_position": max((int(e["position"]) for e in customer_events), default=0)}
    return views, label


def _by_stamp(read: ReadPage, cut: str) -> list[dict[str, Any]]:
    limit = _moment_of(cut)
    return _read(read, lambda e: _moment_of(e["occurred_at"]) <= limit,
                 lambda e: _moment_of(e["occurred_at"]) > limit + STAMP_SLACK)


def _read(read: ReadPage, keep: Callable[[Mapping[str, Any]], bool],
          past: Callable[[Mapping[str, Any]], bool]) -> list[dict[str, Any]]:
    """Events in position order that ``keep`` accepts, until one is ``past`` the moment."""
    kept: list[dict[str, Any]] = []
    position = 0
    while True:
        page = read(position, PAGE)
        events = list(page.get("events") or [])
        if not events:
            return kept
        for event in events:
            if past(event):
                return kept
            if keep(event):
                kept.append(event)
        position = int(page["last_position"])
