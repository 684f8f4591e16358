"""``/api/customers``, ``/api/contracts``, ``/api/payments``, ``/api/reconciliation``."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.api.common import create, expected_version, json_object, keyed, resource_response
from gateway.http import json_response, params, route
from gateway.hub import ServiceHub
from gateway.idempotency import IdempotencyStore
from gateway.schemas import (
    CustomerListQuery,
    PageQuery,
    PaymentListQuery,
    ReconciliationQuery,
    UninvoicedQuery,
)

TAG = "customers"


class CustomerRoutes:
    services: ServiceHub
    idempotency: IdempotencyStore

    @route("POST", "/api/customers", status=201, body="CustomerInput", returns="Customer", tag=TAG)
    def create_customer(self, request: Request) -> Response:
        """A customer (客户); ``Idempotency-Key`` honoured."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.customer.create_customer(keyed(request, body)),
                      lambda customer: f"/api/customers/{customer['id']}")

    @route("GET", "/api/customers", query=CustomerListQuery(), returns="CustomerPage", tag=TAG)
    def list_customers(self, request: Request) -> Response:
        """By name fragment, in name order, ``next_cursor`` for more."""
        args = params(request)
        return json_response(self.services.customer.list_customers(
            name_contains=args.get("name_contains"), limit=args.get("limit", 50),
            cursor=args.get("cursor")))

    @route("GET", "/api/customers/<customer_id>", returns="Customer", tag=TAG)
    def get_customer(self, request: Request, customer_id: str) -> Response:
        """One customer with ``ETag``."""
        return resource_response(request, self.services.customer.get_customer(customer_id))

    @route("PATCH", "/api/customers/<customer_id>", body="CustomerInput", returns="Customer", tag=TAG)
    def update_customer(self, request: Request, customer_id: str) -> Response:
        """Change fields; ``If-Match``."""
        customer = self.services.customer.update_customer(
            customer_id, json_object(request), expected_version=expected_version(request))
        return resource_response(request, customer)

    @route("GET", "/api/customers/<customer_id>/invoices", query=PageQuery(),
           returns="CustomerInvoices", tag=TAG)
    def customer_invoices(self, request: Request, customer_id: str) -> Response:
        """The customer's active invoices, newest first, with count and amount."""
        args = params(request)
        return json_response(self.services.search.customer_invoices(
            customer_id, limit=args.get("limit", 50), cursor=args.get("cursor")))

    @route("GET", "/api/customers/<customer_id>/contracts", returns=["Contract"], tag=TAG)
    def customer_contracts(self, request: Request, customer_id: str) -> Response:
        """The customer's contracts in creation order."""
        return json_response(self.services.customer.list_contracts(customer_id))

    @route("POST", "/api/contracts", status=201, body="ContractInput", returns="Contract", tag=TAG)
    def create_contract(self, request: Request) -> Response:
        """A contract of a customer; ``Idempotency-Key`` honoured."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.customer.create_contract(keyed(request, body)),
                      lambda contract: f"/api/contracts/{contract['id']}")

    @route("GET", "/api/contracts/<contract_id>", returns="Contract", tag=TAG)
    def get_contract(self, request: Request, contract_id: str) -> Response:
        """One contract with ``ETag``."""
        return resource_response(request, self.services.customer.get_contract(contract_id))

    @route("POST", "/api/payments", status=201, body="PaymentInput", returns="Payment", tag=TAG)
    def record_payment(self, request: Request) -> Response:
        """A payment received (回款); ``Idempotency-Key`` honoured."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.customer.record_payment(keyed(request, body)),
                      lambda payment: f"/api/payments/{payment['id']}")

    @route("GET", "/api/payments", query=PaymentListQuery(), returns=["Payment"], tag=TAG)
    def list_payments(self, request: Request) -> Response:
        """Payments of a contract or a customer."""
        args = params(request)
        return json_response(self.services.customer.list_payments(
            contract_id=args.get("contract_id"), customer_id=args.get("customer_id")))

    @route("GET", "/api/payments/<payment_id>", returns="Payment", tag=TAG)
    def get_payment(self, request: Request, payment_id: str) -> Response:
        """One payment (the ``Location`` of a recorded payment)."""
        return resource_response(request, self.services.customer.get_payment(payment_id))

    @route("GET", "/api/payments/uninvoiced", query=UninvoicedQuery(), returns="UninvoicedPage",
           tag=TAG)
    def uninvoiced_payments(self, request: Request) -> Response:
        """Payments no active invoice names, newest first."""
        return json_response(self.services.search.uninvoiced_payments(uninvoiced_query(params(request))))

    @route("GET", "/api/reconciliation", query=ReconciliationQuery(), returns=["Reconciliation"],
           tag=TAG)
    def reconciliation(self, request: Request) -> Response:
        """Per contract: amount, received, invoiced, payments with their invoices."""
        args = params(request)
        return json_response(self.services.search.reconciliation(
            customer_id=args.get("customer_id"), contract_id=args.get("contract_id")))


def uninvoiced_query(args: dict[str, Any]) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"field": name, "op": "eq", "value": args[name]}
                                     for name in ("customer_id", "contract_id") if name in args]
    if "received_from" in args:
        filters.append({"field": "received_on", "op": "gte", "value": args["received_from"]})
    if "received_to" in args:
        filters.append({"field": "received_on", "op": "lte", "value": args["received_to"]})
    return {"filters": filters}
