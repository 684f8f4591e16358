"""Edits without ``expected_version`` racing on one record (issue 9, finding 7): the
service decides each again on the newest state, so no caller who did not ask for
version checks sees ``ConcurrencyConflict`` under this load."""
from __future__ import annotations

from typing import Any

import eventlet

from shared.errors import ConcurrencyConflict
from tests.support.factories import World, invoice_data

WRITERS = 8
EDITS = 6  # per writer


def race(hubs: list[Any], edit: Any) -> list[str]:
    """Every writer makes EDITS calls at once; the conflicts that reached a caller."""
    def write(numbered: tuple[int, Any]) -> list[str]:
        number, hub = numbered
        seen = []
        for k in range(EDITS):
            try:
                edit(hub, f"writer {number} edit {k}")
            except ConcurrencyConflict as exc:
                seen.append(str(exc))
        return seen
    return [c for found in eventlet.GreenPool(len(hubs)).imap(write, enumerate(hubs)) for c in found]


def writers(clients: Any, roles: list[str]) -> list[Any]:
    # One hub per writer: a hub's connection serves one green thread at a time.
    return [clients.as_user(roles=roles, sub=f"writer-{n}") for n in range(WRITERS)]


def test_eight_writers_editing_one_invoice_without_expected_version_never_see_a_conflict(
        clients: Any, world: World, admin: Any) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))

    conflicts = race(writers(clients, ["admin"]),
                     lambda hub, text: hub.invoice.update_field(invoice["id"], "content", text))

    assert conflicts == []
    assert admin.invoice.get_invoice(invoice["id"])["version"] == 1 + WRITERS * EDITS


def test_eight_writers_editing_one_customer_without_expected_version_never_see_a_conflict(
        clients: Any, world: World, admin: Any) -> None:
    customer = world.customer()

    conflicts = race(writers(clients, ["admin"]),
                     lambda hub, text: hub.customer.update_customer(customer["id"], {"address": text}))

    assert conflicts == []
    assert admin.customer.get_customer(customer["id"])["version"] == 1 + WRITERS * EDITS


def test_eight_writers_on_one_invoice_served_by_two_instances_never_see_a_conflict(
        system: Any, clients: Any, world: World, admin: Any) -> None:
    second = system.start("invoice")  # writers in two processes race; the retries settle it
    try:
        invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))

        conflicts = race(writers(clients, ["admin"]),
                         lambda hub, text: hub.invoice.update_field(invoice["id"], "content", text))

        assert conflicts == []
        assert admin.invoice.get_invoice(invoice["id"])["version"] == 1 + WRITERS * EDITS
    finally:
        second.stop()
