"""Plumbing shared by every service: identity, errors, values, the event store and its relay."""
