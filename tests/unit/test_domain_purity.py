"""The domain is pure: importing every service's ``domain`` package and the shared value
modules loads none of the frameworks (nameko, pymongo, PyJWT, PyYAML, marshmallow).

Each check runs in a fresh interpreter: in this one the frameworks are long loaded."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("invoice", "customer", "approval", "search")
FORBIDDEN = ("nameko", "pymongo", "bson", "jwt", "yaml", "marshmallow", "eventlet", "kombu")
# shared modules that hold values and pure rules (no I/O, no framework)
SHARED_VALUES = ("shared.errors", "shared.dates", "shared.money", "shared.parsing",
                 "shared.query", "shared.flow_rules", "shared.invoice_events", "shared.customer_events",
                 "shared.events.aggregate", "shared.events.envelope", "shared.events.upcasting")


def domain_modules() -> list[str]:
    names = []
    for service in SERVICES:
        package = ROOT / "services" / service / service / "domain"
        names.append(f"{service}.domain")
        names += [f"{service}.domain.{path.stem}" for path in sorted(package.glob("*.py"))
                  if path.stem != "__init__"]
    return names


def loaded_after_importing(modules: list[str]) -> list[str]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FORBIDDEN)!r})))\n"
    )
    path = [str(ROOT)] + [str(ROOT / "services" / s) for s in SERVICES]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, env={"PYTHONPATH": ":".join(path)})
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_domain_modules_exist() -> None:
    # the purity checks below must not pass by finding nothing to import
    names = domain_modules()
    for service in SERVICES:
        assert f"{service}.domain.events" in names or service == "search"
    assert "approval.domain.request" in names and "search.domain.views" in names


def test_every_domain_module_imports_no_framework() -> None:
    assert loaded_after_importing(domain_modules()) == []


def test_the_shared_value_modules_import_no_framework() -> None:
    assert loaded_after_importing(list(SHARED_VALUES)) == []



def test_rpc_clients_still_receive_the_contract_errors_by_type() -> None:
    from nameko.exceptions import RemoteError, deserialize

    from shared import errors
    from shared.rpc import serialize_error

    for exc in (errors.ValidationError.field("name", "required"), errors.NotFound("x"),
                errors.Conflict("x"), errors.ConcurrencyConflict(3), errors.Forbidden("x"),
                errors.Unauthorized("x")):
        received = deserialize(serialize_error(exc))
        assert type(received) is type(exc) and received.args == exc.args
    assert isinstance(deserialize(serialize_error(KeyError("k"))), RemoteError)
