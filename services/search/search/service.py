"""The search service — SKELETON.

Only enough for the service to start, join the cluster and answer a readiness probe:
``projection_status()`` reports an empty projection. It consumes no events and builds
no projections yet; search, stats, calendar, reconciliation and the other read calls
(see docs/rpc.md, "search") arrive with the search service's own issue.
"""
from __future__ import annotations

from typing import Any

from shared.rpc import rpc


class SearchService:
    name = "search"

    @rpc
    def projection_status(self) -> dict[str, Any]:
        """``{last_position, lag_events, rebuilding}``. Skeleton: nothing is projected
        yet, so always ``{"last_position": 0, "lag_events": 0, "rebuilding": False}``."""
        return {"last_position": 0, "lag_events": 0, "rebuilding": False}
