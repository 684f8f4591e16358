"""The customer service's RPC entrypoints: load with a schema, call one use case, dump.

Every call needs context data ``authorization: "Bearer <JWT>"`` (see docs/rpc.md).
"""
from __future__ import annotations

from typing import Any

from customer.application import CustomerApplication
from customer.dependencies import CustomerStorage, CustomerStore
from customer.schemas import (
    ContractInput,
    CustomerChanges,
    CustomerInput,
    ListCustomersInput,
    PaymentInput,
    dump_record,
    dump_records,
)
from shared import ops
from shared.auth import Actor, Policy
from shared.events.envelope import to_wire
from shared.rpc import CorrelationId, CurrentActor, PolicyProvider, rpc
from shared.schemas import ReadEventsInput, changes_arg, heads_args, id_arg, load, version_arg


class CustomerService(ops.OpsEndpoints):
    name = "customer"

    actor: Actor = CurrentActor()
    correlation_id: str = CorrelationId()
    policy: Policy = PolicyProvider()
    storage: CustomerStorage = CustomerStore()

    def _app(self) -> CustomerApplication:
        return CustomerApplication(self.storage.customers, self.storage.contracts,
                                   self.storage.payments, self.storage.log, self.policy, self.actor,
                                   self.correlation_id)

    # -- customers -------------------------------------------------------------------
    @rpc
    def create_customer(self, data: Any) -> dict[str, Any]:
        """Record a customer. Example: ``{"name": "上海某某科技有限公司", "code": "C-0001",
        "industry": "制造业", "phone": "021-5555-0000", "address": "上海市浦东新区"}``;
        ``owner_id`` / ``department_id`` default to the caller and the caller's department."""
        return dump_record(self._app().create_customer(load(CustomerInput(), data)))

    @rpc
    def update_customer(self, customer_id: Any, changes: Any,
                        expected_version: Any = None) -> dict[str, Any]:
        """Several fields in one CustomerUpdated: ``update_customer("cus_…",
        {"phone": "021-5555-0001"}, expected_version=1)``. Equal values append nothing."""
        return dump_record(self._app().update_customer(
            id_arg(customer_id, "customer_id"), changes_arg(CustomerChanges(), changes),
            version_arg(expected_version)))

    @rpc
    def get_customer(self, customer_id: Any) -> dict[str, Any]:
        """One customer: ``get_customer("cus_…")``."""
        return dump_record(self._app().get_customer(id_arg(customer_id, "customer_id")))

    @rpc
    def list_customers(self, name_contains: Any = None, limit: Any = 50,
                       cursor: Any = None) -> dict[str, Any]:
        """Customers in name order, ``limit`` (1..500) at a time: ``list_customers(
        name_contains="科技", limit=20)`` -> ``{items, next_cursor}``; pass ``next_cursor``
        back as ``cursor`` for the next page (None: no more). The match ignores case."""
        args = load(ListCustomersInput(), {"name_contains": name_contains, "limit": limit,
                                           "cursor": cursor})
        page = self._app().list_customers(args["name_contains"], args["limit"], args["cursor"])
        return {"items": dump_records(page["items"]), "next_cursor": page["next_cursor"]}

    # -- contracts -------------------------------------------------------------------
    @rpc
    def create_contract(self, data: Any) -> dict[str, Any]:
        """Record a contract of an existing customer. Example: ``{"customer_id": "cus_…",
        "number": "HT-2026-001", "title": "年度服务合同", "amount": "100000.00",
        "signed_on": "2026-03-01"}``; a number in use -> Conflict."""
        return dump_record(self._app().create_contract(load(ContractInput(), data)))

    @rpc
    def get_contract(self, contract_id: Any) -> dict[str, Any]:
        """One contract: ``get_contract("con_…")``."""
        return dump_record(self._app().get_contract(id_arg(contract_id, "contract_id")))

    @rpc
    def list_contracts(self, customer_id: Any) -> list[dict[str, Any]]:
        """A customer's contracts, oldest first: ``list_contracts("cus_…")``."""
        return dump_records(self._app().list_contracts(id_arg(customer_id, "customer_id")))

    # -- payments --------------------------------------------------------------------
    @rpc
    def record_payment(self, data: Any) -> dict[str, Any]:
        """Record a payment received (回款) on a contract; its customer is the contract's.
        Example: ``{"contract_id": "con_…", "amount": "30000.00", "received_on":
        "2026-04-01", "method": "bank_transfer", "reference": "REF-1", "note": ""}``."""
        return dump_record(self._app().record_payment(load(PaymentInput(), data)))

    @rpc
    def get_payment(self, payment_id: Any) -> dict[str, Any]:
        """One payment: ``get_payment("pay_…")``."""
        return dump_record(self._app().get_payment(id_arg(payment_id, "payment_id")))

    @rpc
    def list_payments(self, contract_id: Any = None, customer_id: Any = None) -> list[dict[str, Any]]:
        """Payments by ``received_on``, of a contract and/or a customer (all when neither):
        ``list_payments(contract_id="con_…")``."""
        return dump_records(self._app().list_payments(
            None if contract_id is None else id_arg(contract_id, "contract_id"),
            None if customer_id is None else id_arg(customer_id, "customer_id")))

    # -- events ----------------------------------------------------------------------
    @rpc
    def get_history(self, record_id: Any) -> list[dict[str, Any]]:
        """Who changed what, when, on a customer, contract or payment:
        ``get_history("cus_…")`` -> ``[{version, event_type, occurred_at, actor: {id,
        name}, changes: {field: {from, to}}}]`` (admin, auditor, finance)."""
        return to_wire(self._app().history(id_arg(record_id, "record_id")))

    @rpc
    def get_events(self, stream_id: Any, after_version: Any = 0) -> list[dict[str, Any]]:
        """One customer's, contract's or payment's event envelopes as stored (hashes
        verify on them): ``get_events("cus_…", after_version=1)``."""
        return self._app().events(id_arg(stream_id, "stream_id"),
                                  version_arg(after_version, "after_version") or 0)

    @rpc
    def read_heads(self, after_stream_id: Any = "", limit: Any = 1000) -> dict[str, Any]:
        """Every stream's signed head (last version, hash, signature), in stream id
        order, for auditors (``python -m shared.audit`` compares the events with them):
        ``read_heads(after_stream_id="", limit=1000)`` -> ``{heads, last_stream_id}``."""
        return self._app().read_heads(*heads_args(after_stream_id, limit))

    @rpc
    def verify(self, stream_id: Any = None) -> dict[str, Any]:
        """Check every hash chain, signature and stream head, and every state document
        against its events: ``verify()`` or ``verify("cus_…")`` -> ``{ok, checked,
        broken: [{invoice_id, version, reason}]}``."""
        return self._app().verify(None if stream_id is None else id_arg(stream_id, "stream_id"))

    @rpc
    def read_events(self, after_position: Any = 0, limit: Any = 1000) -> dict[str, Any]:
        """Every customer-side event in global order: ``read_events(after_position=0,
        limit=1000)`` -> ``{events, last_position}``."""
        args = load(ReadEventsInput(), {"after_position": after_position, "limit": limit})
        return self._app().read_events(args["after_position"], args["limit"])
