"""Fault injection: the system as real processes on a private RabbitMQ node (the
shared broker is never stopped), so a test may stop and start the broker."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.infra import PrivateRabbit

needs_private_rabbit = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("rabbitmq-server") is None,
    reason="a private RabbitMQ node needs root and rabbitmq-server")


@pytest.fixture
def private_rabbit() -> Iterator[Any]:
    broker = PrivateRabbit()
    try:
        yield broker
    finally:
        broker.stop()
