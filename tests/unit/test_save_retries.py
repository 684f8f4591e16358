"""A write without ``expected_version`` that keeps losing to writers in other instances
is decided again up to SAVE_ATTEMPTS times (issue 9 #7: two invoice instances under load
still surfaced a ConcurrencyConflict after 8 tries)."""
from __future__ import annotations

from typing import Any

import pytest

import shared.events.repository as repository
from shared.errors import ConcurrencyConflict
from shared.events.repository import SAVE_ATTEMPTS, decide_and_save, save_pause


class Record:
    def __init__(self) -> None:
        self.version = 1
        self.pending: list[Any] = []


def losing_saves(losses: int) -> tuple[list[int], Any]:
    tries: list[int] = []

    def save(record: Record) -> None:
        tries.append(1)
        if len(tries) <= losses:
            raise ConcurrencyConflict({"current_version": 2})
    return tries, save


def test_eleven_lost_saves_are_still_decided_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository.time, "sleep", lambda _seconds: None)
    tries, save = losing_saves(11)

    decide_and_save(Record, lambda record: record.pending.append("changed"), save, None)

    assert len(tries) == 12


def test_the_tries_are_bounded_and_the_last_conflict_reaches_the_caller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository.time, "sleep", lambda _seconds: None)
    tries, save = losing_saves(SAVE_ATTEMPTS)

    with pytest.raises(ConcurrencyConflict):
        decide_and_save(Record, lambda record: record.pending.append("changed"), save, None)
    assert len(tries) == SAVE_ATTEMPTS


def test_the_pauses_stay_short() -> None:
    worst = sum(max(save_pause(attempt) for _ in range(50)) for attempt in range(SAVE_ATTEMPTS - 1))
    assert worst <= 1.4
