"""Domain errors are the contract's errors (shared.errors); re-exported for readers."""
from shared.errors import Conflict, ConcurrencyConflict, Forbidden, NotFound, ValidationError

__all__ = ["Conflict", "ConcurrencyConflict", "Forbidden", "NotFound", "ValidationError"]
