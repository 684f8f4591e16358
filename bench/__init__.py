"""``make bench``: throughput and latency of the write side against a bare nameko echo."""
import sys
from pathlib import Path

# The benchmarks drive the services' own packages and tests.support (whose fakes import
# every service's package), as the tests' conftest does: put them on the path once.
_ROOT = Path(__file__).resolve().parents[1]
for _path in [_ROOT] + [_ROOT / "services" / name
                        for name in ("customer", "invoice", "approval", "search", "gateway")]:
    if str(_path) not in sys.path:
        sys.path.append(str(_path))
