"""The routes' handle on import jobs: the store, the settings, and a way to run a job
after its request has been answered (a managed thread of the gateway's container); and
the timer that resumes the jobs of a gateway that died."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from gateway.database import GatewayDatabase
from gateway.imports.jobs import ImportSettings, ImportStore, ensure_indexes, runner_id


@dataclass
class ImportDesk:
    store: ImportStore
    spawn: Callable[[Callable[[], None]], Any]

    @property
    def settings(self) -> ImportSettings:
        return self.store.settings


class Imports(DependencyProvider):
    """Config: ``IMPORT_BATCH_ROWS``, ``IMPORT_SYNC_ROWS``, ``IMPORT_STALE_SECONDS``,
    ``IMPORT_RPC_TIMEOUT`` (see services/gateway/config.yaml)."""

    database = GatewayDatabase()

    def setup(self) -> None:
        config = self.container.config
        defaults = ImportSettings()
        self.settings = ImportSettings(
            batch_rows=max(1, min(500, int(config.get("IMPORT_BATCH_ROWS") or defaults.batch_rows))),
            sync_rows=int(config.get("IMPORT_SYNC_ROWS") or defaults.sync_rows),
            stale_after=float(config.get("IMPORT_STALE_SECONDS") or defaults.stale_after),
            rpc_timeout=float(config.get("IMPORT_RPC_TIMEOUT") or defaults.rpc_timeout))
        self.runner = runner_id()   # this process, as the runner of its jobs

    def start(self) -> None:
        ensure_indexes(self.database.db)

    def get_dependency(self, worker_ctx: Any) -> ImportDesk:
        return ImportDesk(ImportStore(self.database.db, self.settings, self.runner),
                          lambda work: self.container.spawn_managed_thread(work))


class ResumeTimer(Timer):
    """Fires every quarter of ``IMPORT_STALE_SECONDS`` (as a job beats), first at start."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ImportSettings().stale_after / 4, eager=True, **kwargs)

    def setup(self) -> None:
        stale = float(self.container.config.get("IMPORT_STALE_SECONDS") or ImportSettings().stale_after)
        self.interval = stale / 4


resume_timer = ResumeTimer.decorator
