"""The in-memory catch-up checkpoint of the fakes honours the checkpoint's contract."""
from collections.abc import Callable

import pytest

from tests.contracts.catch_up_checkpoint import CatchUpCheckpointContract
from tests.support.fakes import InMemoryCatchUpCheckpoint


class TestInMemoryCatchUpCheckpoint(CatchUpCheckpointContract):
    @pytest.fixture
    def checkpoint(self) -> InMemoryCatchUpCheckpoint:
        return InMemoryCatchUpCheckpoint()

    @pytest.fixture
    def applied(self, checkpoint: InMemoryCatchUpCheckpoint) -> Callable[[int], None]:
        def move(position: int) -> None:
            checkpoint.applied = max(checkpoint.applied, position)
        return move
