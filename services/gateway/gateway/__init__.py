"""The HTTP gateway: REST API, sign-in, export, health and metrics over the four services."""
