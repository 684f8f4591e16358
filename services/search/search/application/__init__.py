"""The search use cases as the service answers them: the read queries over the served
views, the same queries as of a past moment (a fold of the sources' events), and where
the projection stands. No transport code: the sources come in through a port."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from search.application.as_of import AsOfQueries, fold, moment_arg
from search.application.queries import Queries
from search.ports import EventSources, Projection, Views
from shared.auth import Actor, Policy

# How far behind the projector is counted, per source, at the most.
LAG_WINDOW = 1000


class SearchApplication:
    """``views`` opens the served views (read at each use); ``sources`` the source
    services' event logs, for as-of answers and the projection's lag."""

    def __init__(self, views: Callable[[], Views], policy: Policy, actor: Actor,
                 sources: EventSources, projection: Projection) -> None:
        self.views, self.policy, self.actor = views, policy, actor
        self.sources, self.projection = sources, projection

    def queries(self) -> Queries:
        return Queries(self.views(), self.policy, self.actor)

    def _as_of(self, as_of: Any) -> tuple[AsOfQueries, dict[str, Any]]:
        moment = moment_arg(as_of)
        with self.sources() as read:
            views, label = fold(moment, read["invoice"], read["customer"])
        return AsOfQueries(views, self.policy, self.actor), label

    def stats(self, query: Any, group_by: Any, as_of: Any = None) -> dict[str, Any]:
        """The figures now, or as they stood at ``as_of`` (then labelled ``as_of``)."""
        if as_of is None:
            return self.queries().stats(query, group_by)
        queries, label = self._as_of(as_of)
        return dict(queries.stats(query, group_by), as_of=label)

    def calendar(self, year: Any, month: Any, query: Any, as_of: Any = None) -> Any:
        """The days of a month now, or ``{days, as_of}`` as they stood at ``as_of``."""
        if as_of is None:
            return self.queries().calendar(year, month, query)
        queries, label = self._as_of(as_of)
        return {"days": queries.calendar(year, month, query), "as_of": label}

    def projection_status(self) -> dict[str, Any]:
        """``{last_position, lag_events, rebuilding, generation, sources, consumers}``: the
        lag counts the sources' events after each position (up to LAG_WINDOW a source)."""
        generation = self.projection.generation()
        sources: dict[str, Any] = {}
        with self.sources() as read:
            for source, read_page in read.items():
                position = self.projection.position(generation, source)
                behind = len(read_page(position, LAG_WINDOW)["events"])
                sources[source] = {"last_position": position, "lag_events": behind}
        return {"last_position": sources["invoice"]["last_position"],
                "lag_events": sum(s["lag_events"] for s in sources.values()),
                "rebuilding": self.projection.rebuilding(), "generation": generation,
                "sources": sources, "consumers": self.projection.consumers(generation)}
