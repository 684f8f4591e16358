"""The error types of the RPC contract.

Pure values: no framework is imported here. ``shared.rpc_errors`` registers each with
nameko so that a caller gets an instance of the same class (``exc_type`` is exactly the
class name) and can ``except`` it by type.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """Base of the contract's errors; never raised itself."""


class ValidationError(ServiceError):
    """Raised when input is malformed; ``args[0]`` maps each field to its messages."""

    def __init__(self, messages: Mapping[str, Any] | str, *args: Any) -> None:
        if isinstance(messages, str):
            messages = {"_schema": [messages]}
        super().__init__(dict(messages), *args)

    @property
    def messages(self) -> dict[str, Any]:
        return self.args[0]

    @classmethod
    def field(cls, name: str, message: str) -> ValidationError:
        return cls({name: [message]})


class NotFound(ServiceError):
    """Raised when the target does not exist or the actor may not see it."""


class Conflict(ServiceError):
    """Raised when a unique value is taken or the target's state forbids the call."""


class ConcurrencyConflict(ServiceError):
    """Raised when ``expected_version`` is stale; ``args[0]['current_version']`` is the truth."""

    def __init__(self, details: Mapping[str, Any] | int, *args: Any) -> None:
        if isinstance(details, int):
            details = {"current_version": details, "message": "stale expected_version"}
        super().__init__(dict(details), *args)

    @property
    def current_version(self) -> int:
        return int(self.args[0]["current_version"])


class Forbidden(ServiceError):
    """Raised when the actor is known but not allowed to do this."""


class Unauthorized(ServiceError):
    """Raised when the caller's token is missing, malformed, expired or badly signed."""
