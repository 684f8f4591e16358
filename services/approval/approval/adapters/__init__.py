"""Adapters: MongoDB repositories, the invoice replica, RPC clients."""
