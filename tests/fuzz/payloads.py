"""Hypothesis strategies for RPC arguments: any JSON, and near-valid payloads built
from real ids and a valid template per argument with one part broken, so that calls
get past the first check and reach the code behind it."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from shared.query import OPS
from tests.e2e.approval_support import flow_data
from tests.support.factories import contract_data, customer_data, invoice_data, payment_data, unique

EDGES = st.sampled_from([
    2 ** 63, -(2 ** 63) - 1, 10 ** 40, -1, 0, 1, 1.5, float("nan"), float("inf"), True, False,
    None, "", " ", "\n", "NaN", "Infinity", "1E+7000", "1" + "0" * 40, "１２３", "1e3", "12.345",
    "-5.00", "100.00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "2026-W01-1",
    "2026-02-30", "2026-05-01", "2026-05-01T00:00:00Z", "$where", "$gt", "a.b", "custom.x",
    "custom.fuzz_num", "user:x\n", "user:fuzz-admin", "role:admin", "role:finance", "#AA66CC",
    "#AA66CC\n", "receipt", "receipt\n", "vat_special", "amount", "title", "x" * 3000,
    {"$gt": ""}, {"$where": "sleep(100)"}, {"a.b": 1}, [], {}, [None], {"": None}, ["x", "x"],
])
# each argument in turn takes these, the others staying plausible
SWEEP_NUMBERS = [2 ** 63, -1, "NaN", "0001-01-01T00:00:00+01:00", 1.5]
SWEEP_OTHERS = [2 ** 63, float("nan"), {"$gt": ""}, "x\n", "x" * 3000, "0001-01-01T00:00:00+01:00"]
NUMBER_ARGS = ("as_of", "version", "after_version", "after_position", "expected_version", "limit",
               "year", "month")

# the values that found the holes of issue 8: drawn often, in place of one part of a
# near-valid call, where random JSON alone would rarely put them
NASTY = st.sampled_from([
    2 ** 63, 10 ** 40, -1, float("nan"), "NaN", "1E+7000", "1" + "0" * 40, "１２３", "1e3",
    "0001-01-01T00:00:00+01:00", "2026-W01-1", "receipt\n", "user:x\n", " ", {"$gt": ""},
    [], {}, None, True, "yes", 1, "x" * 3000,
])
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | EDGES
JSON = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=12) | st.sampled_from(["field", "op", "value", "filters", "name", "$where"]),
    inner, max_size=5), max_leaves=12)

INVOICE_FIELDS = ["title", "content", "type", "amount", "issued_on", "customer_id", "contract_id",
                  "payment_ids", "invoice_no", "tracking_number", "courier", "owner_id",
                  "department_id", "remarks", "custom", "custom.fuzz_num", "status",
                  "approval_status", "created_at", "updated_at", "number", "id", "customer_name"]


@dataclass
class Seed:
    """Real records in the fuzzed system, made once through RPC."""

    ids: list[str] = field(default_factory=list)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_name: dict[str, Any] = field(default_factory=dict)

    def valid(self, method: str, param: inspect.Parameter) -> Any:
        """A plausible value for one argument (the sweep varies the others)."""
        name = param.name
        template = self.templates.get(f"{method}.{name}") or self.templates.get(name)
        if template is not None:
            return template
        if name in self.by_name:
            return self.by_name[f"{method}.{name}"] if f"{method}.{name}" in self.by_name \
                else self.by_name[name]
        return None if param.default is inspect.Parameter.empty else param.default

    @classmethod
    def make(cls, admin: Any) -> Seed:
        customer = admin.customer.create_customer(customer_data())
        contract = admin.customer.create_contract(contract_data(customer["id"]))
        payment = admin.customer.record_payment(payment_data(contract["id"]))
        admin.invoice.define_custom_field({"key": "fuzz_num", "label": "数", "kind": "number"})
        invoice = admin.invoice.create_invoice(invoice_data(
            customer["id"], contract_id=contract["id"], payment_ids=[payment["id"]],
            custom={"fuzz_num": "1.5"}))
        flow = admin.approval.define_flow(flow_data(customer["id"], watched_fields=["amount", "title"],
                                                    stages=[{"name": "s", "approvers": ["role:finance"]}]))
        admin.invoice.update_field(invoice["id"], "amount", "31000.00")
        ids = [customer["id"], contract["id"], payment["id"], invoice["id"], flow["id"]]
        ids += [r["id"] for r in admin.approval.requests_for_invoice(invoice["id"])]
        query = {"filters": [{"field": "amount", "op": "gte", "value": "10"}], "match": "all",
                 "text": "发票", "sort": [{"field": "amount", "dir": "asc"}], "limit": 5,
                 "include_void": False}
        templates = {
            "create_customer.data": customer_data(),
            "create_contract.data": contract_data(customer["id"]),
            "record_payment.data": payment_data(contract["id"]),
            "create_invoice.data": invoice_data(customer["id"], contract_id=contract["id"],
                                                custom={"fuzz_num": "2"}),
            "create_invoice_type.data": {"key": "t" + unique("")[1:7], "label": "类型", "color": "#123456"},
            "define_custom_field.data": {"key": "f" + unique("")[1:7], "label": "字段", "kind": "number"},
            "define_flow.data": flow_data(customer["id"]),
            "update_customer.changes": {"name": unique("新名")},
            "update_invoice.changes": {"title": "改名", "amount": "32000.00"},
            "update_invoice_type.changes": {"label": "新标签", "color": "#654321", "active": True},
            "update_custom_field.changes": {"label": "新字段", "required": False},
            "update_flow.changes": {"name": unique("新流程"), "active": True},
            "query": query, "stats.query": query, "calendar.query": query,
            "uninvoiced_payments.query": {"filters": [{"field": "amount", "op": "gte", "value": "1"}]},
        }
        requests = [r["id"] for r in admin.approval.requests_for_invoice(invoice["id"])]
        by_name = {
            "invoice_id": invoice["id"], "customer_id": customer["id"], "contract_id": contract["id"],
            "payment_id": payment["id"], "flow_id": flow["id"], "stream_id": invoice["id"],
            "customer.get_events.stream_id": customer["id"], "approval.get_events.stream_id": flow["id"],
            "request_id": requests[0] if requests else "apr_missing", "key": "receipt",
            "update_custom_field.key": "fuzz_num", "to_user_id": "fuzz-other", "field": "title",
            "value": "新标题", "reason": "作废", "comment": "ok", "status": "pending",
            "year": 2026, "month": 4, "notification_ids": [], "group_by": ["type"],
        }
        return cls(ids=ids, templates=templates, by_name=by_name)


def mutated(template: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The template as is, or with one key's value replaced, one key added or dropped."""
    keys = sorted(template)
    same = st.just(template)
    replaced = st.tuples(st.sampled_from(keys), NASTY | JSON).map(lambda kv: {**template, kv[0]: kv[1]})
    added = st.tuples(st.text(max_size=10) | st.sampled_from(INVOICE_FIELDS + ["$where"]), JSON).map(
        lambda kv: {**template, kv[0]: kv[1]})
    dropped = st.sampled_from(keys).map(lambda k: {n: v for n, v in template.items() if n != k})
    filters = st.builds(lambda f, o, v: {**template, "filters": [{"field": f, "op": o, "value": v}]},
                        st.sampled_from(INVOICE_FIELDS), st.sampled_from(OPS) | JSON, NASTY | JSON) \
        if "filters" in template else same
    condition = st.builds(lambda f, o, v: {**template, "condition": [{"field": f, "op": o, "value": v}]},
                          st.sampled_from(INVOICE_FIELDS), st.sampled_from(OPS), NASTY | JSON) \
        if "condition" in template else same
    return st.one_of(same, replaced, added, dropped, filters, condition)


def argument(seed: Seed, method: str, param: inspect.Parameter) -> st.SearchStrategy[Any]:
    """A value for one argument: random JSON, or something near what the method wants."""
    name = param.name
    template = seed.templates.get(f"{method}.{name}") or seed.templates.get(name)
    if template is not None:
        near: st.SearchStrategy[Any] = mutated(template)
    elif name.endswith("_id") or name == "key":
        near = st.sampled_from(seed.ids + ["receipt", "fuzz_num", "missing-id"])
    elif name.endswith("_ids") or name == "approvers":
        near = st.lists(st.sampled_from(seed.ids + ["role:finance", "user:x"]), max_size=3)
    elif name == "field":
        near = st.sampled_from(INVOICE_FIELDS)
    elif name in NUMBER_ARGS:
        near = st.sampled_from([1, 2, 12, 2026, 0, "2026-05-01T00:00:00Z"]) \
            | st.integers(min_value=-2, max_value=2 ** 64)
    elif name == "status":
        near = st.sampled_from(["none", "pending", "approved", "rejected", "void", "active"])
    elif name == "group_by":
        near = st.lists(st.sampled_from(["type", "month", "day", "status", "owner_id", "nope"]), max_size=3)
    else:
        near = st.text(max_size=30)
    return st.one_of(near, near, NASTY, JSON)
