"""approval service (票据审批) — approval flows, requests, their timers and webhooks."""
