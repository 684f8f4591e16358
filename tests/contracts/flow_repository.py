"""What every approval FlowRepository (fake or MongoDB) must do."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from approval.domain.flow import Flow, validate_definition
from approval.ports import FlowRepository
from shared.errors import ConcurrencyConflict, NotFound
from shared.events.envelope import Metadata
from shared.query import invoice_catalog

META = Metadata(actor={"id": "admin1", "name": "Ann"})
CATALOG = invoice_catalog([], view_fields=False)
ROLES = {"finance", "sales"}


def definition(name: str, **overrides: Any) -> dict[str, Any]:
    data = {"name": name, "watched_fields": ["amount"], "trigger_on_create": False,
            "condition": [{"field": "amount", "op": "gte", "value": "10000"}],
            "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"}],
            "cc": [], "active": True, **overrides}
    return validate_definition(data, CATALOG, ROLES)


def new_flow(name: str, flow_id: str | None = None, **overrides: Any) -> Flow:
    return Flow.define(flow_id or f"flow_{uuid.uuid4().hex[:12]}", definition(name, **overrides))


class FlowRepositoryContract:
    """Subclasses provide the ``repository`` fixture (a fresh, empty one)."""

    def test_a_saved_flow_loads_back_now_and_as_of_each_version(
            self, repository: FlowRepository) -> None:
        flow = new_flow("大额")
        repository.save(flow, META)
        flow.update(definition("大额", cc=["user:cc1"]))
        repository.save(flow, META)

        now, first = repository.load(flow.id), repository.load_version(flow.id, 1)

        assert now.version == 2 and now.to_dict() == flow.to_dict()
        assert first.version == 1 and first.definition["cc"] == []
        with pytest.raises(NotFound):
            repository.load_version(flow.id, 3)
        with pytest.raises(NotFound):
            repository.load_version("flow_unknown", 1)

    def test_a_stale_head_is_a_concurrency_conflict(self, repository: FlowRepository) -> None:
        flow = new_flow("one")
        repository.save(flow, META)
        stale = repository.load(flow.id)
        flow.update(definition("one", active=False))
        repository.save(flow, META)

        stale.update(definition("one", cc=["user:x"]))
        with pytest.raises(ConcurrencyConflict):
            repository.save(stale, META)
        assert repository.load(flow.id).definition["active"] is False

    def test_all_lists_every_flow_as_it_is_now_oldest_first(
            self, repository: FlowRepository) -> None:
        # ids in creation order too: two flows may be created in the same millisecond
        tag = uuid.uuid4().hex[:8]
        first, second = new_flow("first", f"flow_{tag}_1"), new_flow("second", f"flow_{tag}_2")
        repository.save(first, META)
        repository.save(second, META)
        first.update(definition("first renamed"))
        repository.save(first, META)

        listed = repository.all()

        assert [f["id"] for f in listed] == [first.id, second.id]
        assert listed[0] == first.to_dict() and listed[0]["name"] == "first renamed"
        assert all("condition_kinds" not in f for f in listed)
