"""What the invoice service does once at start-up (``@on_start``, shared/bootstrap.py):
seed the defaults a fresh store needs. Idempotent: two instances may start together."""
from __future__ import annotations

import logging

from invoice.application import SettingsApplication
from invoice.ports import SettingsRepository
from shared.auth import Actor, Policy

log = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor(id="system:invoice", name="invoice service", roles=("admin",))


def seed_defaults(settings: SettingsRepository, policy: Policy) -> None:
    """The standard invoice types, where missing."""
    created = SettingsApplication(settings, policy, SYSTEM_ACTOR).seed_invoice_types()
    if created:
        log.info("seeded %d invoice types", created)
