"""Domain errors are the contract's errors (shared.errors); re-exported for readers."""
from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound, ValidationError

__all__ = ["Conflict", "ConcurrencyConflict", "Forbidden", "NotFound", "ValidationError"]
