"""Customer, contract and payment use cases: load -> decide -> save. No transport code.

Inputs arrive already shaped by the schemas (types, lengths, formats); this layer checks
what needs the world: permissions, that linked records exist, contract number
uniqueness, versions.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from customer.domain.history import history_lines
from customer.domain.model import Contract, Customer, number_taken
from customer.ports import ContractRepository, CustomerRepository, EventLog, PaymentRepository
from shared.auth import Actor, Policy
from shared.errors import NotFound, ValidationError
from shared.events.envelope import Metadata, envelope_to_wire, metadata_for
from shared.events.repository import decide_and_save

T = TypeVar("T")
WRITE, READ, RECORD_PAYMENT, HISTORY = ("customer.write", "customer.read", "payment.record",
                                        "history.read")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass
class CustomerApplication:
    customers: CustomerRepository
    contracts: ContractRepository
    payments: PaymentRepository
    log: EventLog
    policy: Policy
    actor: Actor
    correlation_id: str | None = None

    # -- customers -------------------------------------------------------------------
    def create_customer(self, values: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, WRITE)
        customer = Customer.create(new_id("cus"), self._owned(values))
        self.customers.save(customer, self._meta())
        return customer.to_dict()

    def update_customer(self, customer_id: str, changes: Mapping[str, Any],
                        expected_version: int | None) -> dict[str, Any]:
        """Change several fields as one event; equal values append nothing."""
        self.policy.require(self.actor, WRITE)
        customer = decide_and_save(lambda: self.customers.load(customer_id),
                                   lambda loaded: loaded.change(changes),
                                   lambda changed: self.customers.save(changed, self._meta()),
                                   expected_version, key=customer_id)
        return customer.to_dict()

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        self.policy.require(self.actor, READ)
        return _found(self.customers.get(customer_id), "customer", customer_id)

    def list_customers(self, name_contains: str | None, limit: int,
                       cursor: str | None) -> dict[str, Any]:
        self.policy.require(self.actor, READ)
        return self.customers.page(name_contains, limit, cursor)

    # -- contracts -------------------------------------------------------------------
    def create_contract(self, values: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, WRITE)
        customer = self._linked(self.customers.load, "customer_id", values["customer_id"])
        if self.contracts.number_taken(values["number"]):
            raise number_taken(values["number"])
        contract = customer.open_contract(new_id("con"), self._owned(values))
        self.contracts.save(contract, self._meta())
        return contract.to_dict()

    def get_contract(self, contract_id: str) -> dict[str, Any]:
        self.policy.require(self.actor, READ)
        return _found(self.contracts.get(contract_id), "contract", contract_id)

    def list_contracts(self, customer_id: str) -> list[dict[str, Any]]:
        self.policy.require(self.actor, READ)
        _found(self.customers.get(customer_id), "customer", customer_id)
        return self.contracts.of_customer(customer_id)

    # -- payments --------------------------------------------------------------------
    def record_payment(self, values: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, RECORD_PAYMENT)
        contract: Contract = self._linked(self.contracts.load, "contract_id", values["contract_id"])
        payment = contract.receive_payment(new_id("pay"), values)
        self.payments.save(payment, self._meta())
        return payment.to_dict()

    def get_payment(self, payment_id: str) -> dict[str, Any]:
        self.policy.require(self.actor, READ)
        return _found(self.payments.get(payment_id), "payment", payment_id)

    def list_payments(self, contract_id: str | None,
                      customer_id: str | None) -> list[dict[str, Any]]:
        self.policy.require(self.actor, READ)
        if contract_id is not None:
            _found(self.contracts.get(contract_id), "contract", contract_id)
        if customer_id is not None:
            _found(self.customers.get(customer_id), "customer", customer_id)
        return self.payments.find(contract_id, customer_id)

    # -- events ----------------------------------------------------------------------
    def events(self, stream_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        """One customer's, contract's or payment's envelopes as stored."""
        self.policy.require(self.actor, HISTORY)
        if self.log.current_version(stream_id) == 0:
            raise NotFound(f"no customer, contract or payment {stream_id}")
        return [envelope_to_wire(e)
                for e in self.log.stream(stream_id, after_version=after_version, upcast=False)]

    def history(self, stream_id: str) -> list[dict[str, Any]]:
        """Who changed what, when, on one customer, contract or payment."""
        self.policy.require(self.actor, HISTORY)
        events = self.log.stream(stream_id)
        if not events:
            raise NotFound(f"no customer, contract or payment {stream_id}")
        return history_lines(events)

    def read_events(self, after_position: int = 0, limit: int = 1000) -> dict[str, Any]:
        self.policy.require(self.actor, HISTORY)
        events = [envelope_to_wire(e) for e in self.log.read_all(after_position, limit)]
        last = events[-1]["position"] if events else after_position
        return {"events": events, "last_position": last}

    def read_heads(self, after_stream_id: str, limit: int) -> dict[str, Any]:
        self.policy.require(self.actor, HISTORY)
        return self.log.heads_page(after_stream_id, limit)

    def verify(self, stream_id: str | None = None) -> dict[str, Any]:
        """Every chain, signature and stream head, and every customer, contract and
        payment state document against the fold of its events."""
        self.policy.require(self.actor, HISTORY)
        if stream_id is not None and self.log.current_version(stream_id) == 0:
            raise NotFound(f"no customer, contract or payment {stream_id}")
        wanted = None if stream_id is None else [stream_id]
        report = self.log.verify(wanted)
        for records in (self.customers, self.contracts, self.payments):
            report["broken"] += records.state_breaks(wanted)
        report["ok"] = not report["broken"]
        return report

    # -- helpers ---------------------------------------------------------------------
    def _owned(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Default owner and department: the actor and the actor's department."""
        values = dict(values)
        if values.get("owner_id") is None:
            values["owner_id"] = self.actor.id
        if values.get("department_id") is None:
            values["department_id"] = self.actor.department
        return values

    @staticmethod
    def _linked(load: Callable[[str], T], field: str, record_id: str) -> T:
        """A record the input links to; a missing one is the input's fault."""
        try:
            return load(record_id)
        except NotFound:
            raise ValidationError.field(field, f"{record_id!r} does not exist") from None

    def _meta(self) -> Metadata:
        return metadata_for(self.actor, self.correlation_id)


def _found(state: dict[str, Any] | None, kind: str, record_id: str) -> dict[str, Any]:
    if state is None:
        raise NotFound(f"{kind} {record_id} not found")
    return state
