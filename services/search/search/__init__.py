"""search service (read projections) — the invoice search view, as-of queries and reports."""
