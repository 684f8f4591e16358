"""The RPC mapping of the contract's errors (``shared.errors``): each is registered with
nameko's remote-error registry, so a caller receives an instance of the same class
(``exc_path`` names it) and can ``except`` it by type.

Imported by ``shared.rpc`` and ``shared.rpc_client`` and by every other standalone RPC
client (ctl, scripts): a process must import it before it deserialises a reply."""
from __future__ import annotations

from nameko.exceptions import deserialize_to_instance

from shared.errors import (
    ConcurrencyConflict,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unauthorized,
    ValidationError,
)

CONTRACT_ERRORS: tuple[type[ServiceError], ...] = (
    ValidationError, NotFound, Conflict, ConcurrencyConflict, Forbidden, Unauthorized)

for _error in CONTRACT_ERRORS:
    deserialize_to_instance(_error)
