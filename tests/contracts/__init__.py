"""Contract tests of ports: each class runs against the in-memory fake (tests/unit)
and the MongoDB adapter (tests/integration), so the fake cannot drift."""
