"""The group-commit queue alone (shared.events.group_commit), with a commit function
that records its groups instead of a store."""
from __future__ import annotations

import time
from typing import Any

import eventlet
import pytest

from shared.events.group_commit import GroupCommitter, Ticket

WAIT = 10.0  # seconds a held commit waits for the others to queue


class Recorder:
    """A commit that records each group and answers each request with its double; the
    first group is held until ``hold_for`` requests are queued behind it."""

    def __init__(self, hold_for: int = 0) -> None:
        self.groups: list[list[int]] = []
        self.hold_for = hold_for
        self.committer: GroupCommitter[int, int] = GroupCommitter(self.commit, max_group=3,
                                                                  max_size=10, size=lambda n: n)

    def commit(self, tickets: list[Ticket[int, int]]) -> None:
        first = not self.groups
        self.groups.append([t.request for t in tickets])
        if first and self.hold_for:
            deadline = time.monotonic() + WAIT
            while self.committer.waiting < self.hold_for and time.monotonic() < deadline:
                eventlet.sleep(0.001)
        for ticket in tickets:
            if ticket.request < 0:
                ticket.fail(ValueError(f"negative: {ticket.request}"))
            else:
                ticket.resolve(ticket.request * 2)


def submit_all(recorder: Recorder, first: int, rest: list[int]) -> list[Any]:
    def outcome(request: int) -> Any:
        try:
            return recorder.committer.submit(request)
        except BaseException as exc:  # noqa: BLE001 - the test looks at each answer
            return exc

    pool = eventlet.GreenPool()
    leader = pool.spawn(outcome, first)
    eventlet.sleep(0)
    followers = [pool.spawn(outcome, n) for n in rest]
    return [leader.wait()] + [f.wait() for f in followers]


def test_a_writer_alone_is_committed_at_once_in_a_group_of_its_own() -> None:
    recorder = Recorder()

    assert recorder.committer.submit(4) == 8
    assert recorder.groups == [[4]] and recorder.committer.waiting == 0


def test_writers_that_arrive_during_a_commit_share_the_next_one_each_with_its_own_outcome() -> None:
    recorder = Recorder(hold_for=3)

    results = submit_all(recorder, 1, [2, -3, 4])

    assert recorder.groups == [[1], [2, -3, 4]]
    assert results[:2] == [2, 4] and results[3] == 8
    assert isinstance(results[2], ValueError) and str(results[2]) == "negative: -3"


def test_groups_are_bounded_in_writers_and_in_size() -> None:
    recorder = Recorder(hold_for=6)

    results = submit_all(recorder, 1, [1, 1, 1, 1, 9, 1])

    assert recorder.groups == [[1], [1, 1, 1], [1, 9], [1]]
    assert results == [2, 2, 2, 2, 2, 18, 2]


def test_a_request_larger_than_the_bound_is_still_committed_alone() -> None:
    recorder = Recorder()

    assert recorder.committer.submit(25) == 50 and recorder.groups == [[25]]


def test_when_a_commit_breaks_its_leader_gets_the_error_and_its_followers_an_unknown_outcome() -> None:
    recorder = Recorder(hold_for=2)

    def breaks_second(tickets: list[Ticket[int, int]]) -> None:
        if recorder.groups:
            recorder.groups.append([t.request for t in tickets])
            raise RuntimeError("store gone")
        Recorder.commit(recorder, tickets)

    recorder.committer._commit = breaks_second  # type: ignore[assignment]
    results = submit_all(recorder, 1, [2, 3])

    # the leader of [2, 3] (either writer) raises the error, the other cannot know
    assert results[0] == 2 and recorder.groups == [[1], [2, 3]]
    assert sorted(type(r).__name__ for r in results[1:]) == ["GroupCommitInterrupted", "RuntimeError"]
    recorder.committer._commit = recorder.commit  # type: ignore[assignment]
    assert recorder.committer.submit(5) == 10 and recorder.committer.waiting == 0


@pytest.mark.parametrize("size", [1, 3])
def test_nothing_is_left_queued(size: int) -> None:
    recorder = Recorder(hold_for=size)

    submit_all(recorder, 1, [1] * size)

    assert recorder.committer.waiting == 0
