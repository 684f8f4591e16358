"""Upcasters: turn an event stored under an older schema into the current shape.

Stored events are never rewritten; upcasting happens on read, so the hash chain keeps
verifying the bytes as they were written.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UpcasterRegistry:
    """Maps (event type, schema version) to a function producing schema version + 1."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def decorator(step: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._steps:
                raise ValueError(f"an upcaster for {event_type} v{from_version} exists already")
            self._steps[key] = step
            return step
        return decorator

    def upcast(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Return a copy of ``envelope`` with ``data`` and ``schema_version`` current."""
        result = dict(envelope)
        version = int(result.get("schema_version") or 1)
        while (result["type"], version) in self._steps:
            result["data"] = self._steps[(result["type"], version)](dict(result["data"]))
            version += 1
            result["schema_version"] = version
        return result
