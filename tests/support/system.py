"""The four services running as real processes on the test store and vhost."""
from __future__ import annotations

from typing import Any

from tests.support.actors import Clients
from tests.support.infra import GaveUp, ServiceProcess, wait_for

E2E_SERVICES = ("customer", "invoice", "approval", "search")


class System:
    """``amqp_uri``: guest's, for the harness; ``client_uri``: the caller account's."""

    def __init__(self, env: dict[str, str], log_dir: str, amqp_uri: str, client_uri: str) -> None:
        self.env, self.log_dir, self.amqp_uri, self.client_uri = env, log_dir, amqp_uri, client_uri
        self.processes: list[ServiceProcess] = []

    def start(self, name: str, wait: bool = True, env: dict[str, str] | None = None) -> ServiceProcess:
        process = ServiceProcess(name, {**self.env, **(env or {})}, self.log_dir).start()
        self.processes.append(process)
        if wait:
            self.wait_ready(name, process)
        return process

    def start_all(self, names: tuple[str, ...] | list[str]) -> list[ServiceProcess]:
        """Start every service at once, then wait for each to answer: their start-ups
        (imports, queue declarations, catch-up) overlap instead of adding up."""
        started = [self.start(name, wait=False) for name in names]
        for name, process in zip(names, started, strict=True):
            self.wait_ready(name, process)
        return started

    def wait_ready(self, name: str, process: ServiceProcess) -> None:
        clients = Clients(self.client_uri)
        hubs: list[Any] = []
        try:
            probe = {"customer": lambda hub: hub.customer.list_customers(limit=1) is not None,
                     "invoice": lambda hub: hub.invoice.list_invoice_types() is not None,
                     "approval": lambda hub: hub.approval.list_flows() is not None,
                     "search": lambda hub: hub.search.projection_status() is not None}[name]

            def ready() -> bool:
                if not process.alive():
                    raise GaveUp(f"{name} died:\n{process.log_tail()}")
                if not hubs:  # the caller account cannot declare nameko-rpc: a service does
                    hubs.append(clients.as_user(roles=["admin"]))
                return bool(probe(hubs[0]))
            wait_for(ready, timeout=60, interval=0.3, message=f"{name} to answer")
        finally:
            clients.close()

    def stop_all(self) -> None:
        """SIGTERM to every process first, then wait for each: each takes seconds to
        shut down, and one after the other they added up to tens of seconds."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait_stopped()
