"""Customer-side event types: the names, data shapes, field catalogue and fold live in
shared.customer_events (a cross-service contract); the upcasters here."""
from __future__ import annotations

from shared.customer_events import (  # noqa: F401 - the names live in shared: others consume them
    CONTRACT_CREATED,
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    PAYMENT_RECEIVED,
    STREAM_CONTRACT,
    STREAM_CUSTOMER,
    STREAM_PAYMENT,
)
from shared.events.upcasting import UpcasterRegistry

upcasters = UpcasterRegistry()
