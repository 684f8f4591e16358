"""Test support: real processes (store, services), vhosts, tokens and factories."""
