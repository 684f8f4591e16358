"""The gateway service: HTTP routes only, each parse → one RPC call → render.

The routes live in modules by resource (``gateway.api.*``, ``gateway.signin``); this
class puts them together with their dependencies. Run it with
``nameko run --config services/gateway/config.yaml gateway.service``. (The route
classes are reached through their modules: ``nameko run`` would take any class with
entrypoints imported here for a service of its own.)
"""
from __future__ import annotations

from gateway import signin
from gateway.api import approval, customers, imports, invoices, settings, system
from gateway.gatekeeper import Gatekeeper
from gateway.hub import ServiceHub, Services
from gateway.idempotency import Idempotency, IdempotencyStore
from gateway.imports.provider import ImportDesk, Imports
from gateway.web import routes as web_routes


class GatewayService(invoices.InvoiceRoutes, imports.ImportRoutes, customers.CustomerRoutes, settings.SettingsRoutes,
                     approval.ApprovalRoutes, system.SystemRoutes, signin.SigninRoutes,
                     web_routes.WebPages):
    name = "gateway"

    services: ServiceHub = Services()
    idempotency: IdempotencyStore = Idempotency()
    imports: ImportDesk = Imports()
    signin: Gatekeeper = signin.Signin()
