"""Factories with ``**overrides`` for test data, going through the real RPC calls."""
from __future__ import annotations

import uuid
from typing import Any


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def customer_data(**overrides: Any) -> dict[str, Any]:
    data = {"name": unique("上海测试客户"), "code": unique("C"), "industry": "制造业",
            "phone": "021-5555-0000", "address": "上海市浦东新区"}
    data.update(overrides)
    return data


def contract_data(customer_id: str, **overrides: Any) -> dict[str, Any]:
    data = {"customer_id": customer_id, "number": unique("HT"), "title": "年度服务合同",
            "amount": "100000.00", "signed_on": "2026-03-01"}
    data.update(overrides)
    return data


def payment_data(contract_id: str, **overrides: Any) -> dict[str, Any]:
    data = {"contract_id": contract_id, "amount": "30000.00", "received_on": "2026-04-01",
            "method": "bank_transfer", "reference": unique("REF")}
    data.update(overrides)
    return data


def invoice_data(customer_id: str, **overrides: Any) -> dict[str, Any]:
    data = {"title": "四月服务费发票", "content": "技术服务费", "type": "vat_special",
            "amount": "30000.00", "issued_on": "2026-04-02", "customer_id": customer_id}
    data.update(overrides)
    if data["type"] == "vat_special":  # the type's required fields (issue 15); rate 0: no tax
        data.setdefault("buyer_name", "示例科技有限公司")
        data.setdefault("buyer_tax_id", "91350100M000100Y43")
        data.setdefault("tax_rate", "0")
    return data


class World:
    """Creates linked customers, contracts and payments through a hub."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def customer(self, **overrides: Any) -> dict[str, Any]:
        return self.hub.customer.create_customer(customer_data(**overrides))

    def contract(self, customer_id: str, **overrides: Any) -> dict[str, Any]:
        return self.hub.customer.create_contract(contract_data(customer_id, **overrides))

    def payment(self, contract_id: str, **overrides: Any) -> dict[str, Any]:
        return self.hub.customer.record_payment(payment_data(contract_id, **overrides))

    def linked(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        customer = self.customer()
        contract = self.contract(customer["id"])
        payment = self.payment(contract["id"])
        return customer, contract, payment


def chain(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Link and hash one stream's hand-made envelopes (in version order) as a store
    would: consumers apply only events whose hash and prev_hash hold."""
    from shared.events.envelope import GENESIS_HASH, compute_hash
    prev_hash = GENESIS_HASH
    for event in events:
        event["prev_hash"] = prev_hash
        event["hash"] = prev_hash = compute_hash(event)
    return events


def invoice_event(version: int, kind: str, data: dict[str, Any],
                  stream_id: str = "inv_1") -> dict[str, Any]:
    """An invoice event as the approval reaction receives it (unsigned; ``chain`` links)."""
    return {"event_id": uuid.uuid4().hex, "stream_id": stream_id, "stream_type": "invoice",
            "version": version, "position": version, "type": kind, "data": data,
            "occurred_at": "2026-05-01T00:00:00Z", "correlation_id": "c1",
            "actor": {"id": "sales-1", "name": "销售", "roles": ["sales"]}}


def amount_changed(version: int, old: str, new: str) -> dict[str, Any]:
    return invoice_event(version, "InvoiceFieldsChanged",
                         {"changes": {"amount": {"from": old, "to": new}}})
