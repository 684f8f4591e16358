"""The REST API under ``/api/`` (one module per resource family)."""
