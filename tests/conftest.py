"""Session-wide real infrastructure. nameko's services and clients need eventlet's
monkey patching before anything else imports sockets or threads."""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet

import os  # noqa: E402

# hypothesis (tests/fuzz) loads every installed "hypothesis" entry point on import; trio
# (installed for selenium, tests/browser) has one that fails under eventlet's patched
# sockets ('GreenSocket' has no attribute 'sendmsg'). Neither needs the other.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

eventlet.monkey_patch()

import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any

import pytest  # noqa: E402

from tests.support.infra import MongoProcess, RabbitVhost, keys_dir  # noqa: E402
from tests.support.stacks import close_finished_directories  # noqa: E402

# In-process containers and tools read the test keys, never var/keys.
os.environ["EVENT_KEYS_DIR"] = str(keys_dir())
# ... and accept HS256 test tokens (shared/auth.py: dev mode).
os.environ["INVOICE_DEV_MODE"] = "1"


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        for kind in ("unit", "integration", "e2e", "fuzz", "faults"):
            if f"tests/{kind}/" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    close_finished_directories(item)


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoProcess]:
    server = MongoProcess()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vhost() -> Iterator[RabbitVhost]:
    created = RabbitVhost()
    yield created
    created.delete()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Service logs; pytest keeps the last few runs' under its temp dir."""
    return str(tmp_path_factory.mktemp("service-logs"))


@pytest.fixture
def db_prefix() -> str:
    """A fresh database prefix: tests that build their own stores never share data."""
    return f"t{uuid.uuid4().hex[:8]}_"
