"""Adapters: MongoDB repositories and the customer directory (implement the ports)."""
