"""What every catch-up Checkpoint (fake or MongoDB) must do."""
from __future__ import annotations

from collections.abc import Callable

from shared.events.catchup import Checkpoint


class CatchUpCheckpointContract:
    """Subclasses provide the ``checkpoint`` fixture and ``applied``: a function that
    moves the consumer's applied position as its tracker does."""

    def test_a_new_consumer_starts_at_the_beginning(self, checkpoint: Checkpoint) -> None:
        assert checkpoint.resume_position() == 0

    def test_the_checkpoint_only_moves_forward(self, checkpoint: Checkpoint) -> None:
        checkpoint.advance(40)
        checkpoint.advance(30)
        assert checkpoint.resume_position() == 40

    def test_an_unfinished_catch_up_resumes_at_its_own_checkpoint(
            self, checkpoint: Checkpoint, applied: Callable[[int], None]) -> None:
        # events applied from the queue meanwhile prove nothing about older ones
        checkpoint.advance(40)
        applied(900)
        assert checkpoint.resume_position() == 40

    def test_after_a_completed_catch_up_it_resumes_after_the_last_event_applied(
            self, checkpoint: Checkpoint, applied: Callable[[int], None]) -> None:
        checkpoint.advance(40, complete=True)
        applied(900)
        assert checkpoint.resume_position() == 900
        checkpoint.advance(950)
        assert checkpoint.resume_position() == 950
