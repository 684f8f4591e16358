"""search service (read projections) — a skeleton until its own issue lands."""
