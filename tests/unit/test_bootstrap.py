"""A service's start-up work (seeding defaults) runs once, in a worker with the
service's dependencies, before its container counts as started; a failure fails the start."""
from __future__ import annotations

from typing import Any

import pytest
from nameko.containers import ServiceContainer
from nameko.extensions import DependencyProvider

from shared.bootstrap import on_start


class Defaults(DependencyProvider):
    """Stands in for a store: what the bootstrap seeded, per container."""

    def setup(self) -> None:
        self.seeded: list[str] = []

    def get_dependency(self, worker_ctx: Any) -> list[str]:
        return self.seeded


class SeedingService:
    name = "seeding"
    defaults = Defaults()

    @on_start
    def bootstrap(self) -> None:
        if "standard" not in self.defaults:
            self.defaults.append("standard")


class FailingService:
    name = "failing"

    @on_start
    def bootstrap(self) -> None:
        raise RuntimeError("store away")


def seeded(container: ServiceContainer) -> list[str]:
    provider = next(d for d in container.dependencies if isinstance(d, Defaults))
    return provider.seeded


def test_the_bootstrap_has_seeded_the_defaults_when_the_container_has_started() -> None:
    container = ServiceContainer(SeedingService, {})
    try:
        container.start()
        assert seeded(container) == ["standard"]
    finally:
        container.stop()


def test_a_failing_bootstrap_fails_the_start() -> None:
    container = ServiceContainer(FailingService, {})
    with pytest.raises(RuntimeError, match="store away"):
        container.start()
    container.kill()
