"""The approval service — SKELETON.

Only enough for the service to start, join the cluster and answer a readiness probe:
``list_flows()`` returns an empty list. Approval flows, requests, decisions and
notifications (see docs/rpc.md, "approval") are NOT implemented yet; they arrive with
the approval service's own issue. Until then no call here changes anything.
"""
from __future__ import annotations

from typing import Any

from shared.rpc import rpc


class ApprovalService:
    name = "approval"

    @rpc
    def list_flows(self) -> list[dict[str, Any]]:
        """The approval flows. Skeleton: always ``[]`` (no flows can be defined yet)."""
        return []
