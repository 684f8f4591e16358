"""Approval flows through RPC: admins define and edit them (each change a new version);
bad definitions are refused naming the problem, and nothing is stored."""
from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ConcurrencyConflict, Forbidden, ValidationError
from tests.e2e.approval_support import flow_data


def test_an_admin_defines_a_flow_and_every_change_makes_a_new_version(admin: Any) -> None:
    flow = admin.approval.define_flow(flow_data("cus-none", cc=["role:auditor"]))

    edited = admin.approval.update_flow(flow["id"], {"name": "改名后的流程", "active": False})
    unchanged = admin.approval.update_flow(flow["id"], {"name": "改名后的流程"})

    assert flow["version"] == 1 and flow["active"] is True and flow["cc"] == ["role:auditor"]
    assert edited["version"] == 2 and edited["name"] == "改名后的流程" and edited["active"] is False
    assert unchanged["version"] == 2
    assert admin.approval.get_flow(flow["id"]) == edited
    assert admin.approval.get_flow(flow["id"], 1)["name"] == flow["name"]
    assert edited["id"] in [f["id"] for f in admin.approval.list_flows()]
    with pytest.raises(ConcurrencyConflict):
        admin.approval.update_flow(flow["id"], {"name": "x"}, expected_version=1)


@pytest.mark.parametrize("overrides, field_path", [
    ({"watched_fields": ["amount", "no_such_field"]}, ("watched_fields", "1")),
    ({"watched_fields": ["custom.never_defined"]}, ("watched_fields", "0")),
    ({"stages": []}, ("stages",)),
    ({"stages": [{"name": "财务", "approvers": ["finance"], "mode": "any"}]}, ("stages", "0", "approvers")),
    ({"stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "most"}]}, ("stages", "0", "mode")),
    ({"stages": [{"name": "财务", "approvers": ["role:no_such_role"]}]}, ("stages", "0", "approvers")),
    ({"stages": [{"approvers": ["role:finance"]}]}, ("stages", "0", "name")),
    ({"name": ""}, ("name",)),
    ({"cc": ["someone"]}, ("cc",)),
    ({"condition": [{"field": "amount", "op": "like", "value": "1"}]}, ("condition", "0", "op")),
    ({"condition": [{"field": "customer_name", "op": "eq", "value": "x"}]}, ("condition", "0", "field")),
    ({"watched_fields": [], "trigger_on_create": False}, ("watched_fields",)),
    ({"surprise": 1}, ("surprise",)),
])
def test_a_bad_flow_definition_is_refused_naming_the_field_and_nothing_is_stored(
        admin: Any, overrides: dict[str, Any], field_path: tuple[str, ...]) -> None:
    before = admin.approval.list_flows()

    with pytest.raises(ValidationError) as refused:
        admin.approval.define_flow(flow_data("cus-none", **overrides))

    node: Any = refused.value.args[0]
    for part in field_path:
        assert part in node, (field_path, refused.value.args[0])
        node = node[part]
    assert admin.approval.list_flows() == before


def test_a_bad_update_is_refused_and_the_flow_keeps_its_version(admin: Any) -> None:
    flow = admin.approval.define_flow(flow_data("cus-none"))

    with pytest.raises(ValidationError) as refused:
        admin.approval.update_flow(flow["id"], {"stages": [{"name": "s", "approvers": ["user:u1"],
                                                            "mode": "some"}]})

    assert "mode" in refused.value.args[0]["stages"]["0"]
    assert admin.approval.get_flow(flow["id"]) == flow


def test_only_admins_define_or_change_flows(admin: Any, clients: Any) -> None:
    flow = admin.approval.define_flow(flow_data("cus-none"))
    before = admin.approval.list_flows()
    finance = clients.as_user(roles=["finance"])

    with pytest.raises(Forbidden):
        finance.approval.define_flow(flow_data("cus-none"))
    with pytest.raises(Forbidden):
        finance.approval.update_flow(flow["id"], {"active": False})

    assert admin.approval.list_flows() == before
