"""Approval flows and requests: pure domain code (no pymongo, nameko, marshmallow)."""
