"""Adapters: MongoDB repositories of customers, contracts and payments (implement the ports)."""
