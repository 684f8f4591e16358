"""The fault suite's private RabbitMQ node (one per session: each scenario takes a vhost
of it), so that stopping the broker never touches the shared one."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support.infra import PrivateRabbit


@pytest.fixture(scope="session")
def private_broker() -> Iterator[PrivateRabbit]:
    if os.geteuid() != 0 or shutil.which("rabbitmq-server") is None:
        pytest.skip("a private RabbitMQ node needs root and rabbitmq-server")
    broker = PrivateRabbit()
    yield broker
    broker.stop()
