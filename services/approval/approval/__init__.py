"""approval service (票据审批) — a skeleton until its own issue lands."""
