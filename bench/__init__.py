"""``make bench``: throughput and latency of the write side against a bare nameko echo."""
