"""The MongoDB catch-up checkpoint honours the checkpoint's contract."""
from collections.abc import Callable
from typing import Any

import pytest

from shared.events.catchup import CatchUpCheckpoint
from tests.contracts.catch_up_checkpoint import CatchUpCheckpointContract


class TestMongoCatchUpCheckpoint(CatchUpCheckpointContract):
    @pytest.fixture
    def checkpoint(self, db: Any) -> CatchUpCheckpoint:
        return CatchUpCheckpoint(db, "contract-consumer")

    @pytest.fixture
    def applied(self, db: Any) -> Callable[[int], None]:
        def move(position: int) -> None:  # as StreamTracker._advance_position does
            db["consumer_positions"].update_one({"_id": "contract-consumer"},
                                                {"$max": {"position": position}}, upsert=True)
        return move
