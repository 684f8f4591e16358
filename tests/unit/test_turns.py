"""Writers of one record in a process take turns (shared.events.repository.Turns)."""
from __future__ import annotations

import threading
import time

from shared.events.repository import Turns


def run_together(turns: Turns, keys: list[str]) -> list[tuple[str, str]]:
    """Each key's writer enters its turn, yields to the others, leaves; the log of it."""
    log: list[tuple[str, str]] = []

    def writer(number: int, key: str) -> None:
        with turns.of(key):
            log.append(("in", key))
            time.sleep(0.01)  # the others run meanwhile (green threads under eventlet)
            log.append(("out", key))

    threads = [threading.Thread(target=writer, args=(n, k)) for n, k in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    return log


def test_writers_of_one_record_enter_one_after_the_other() -> None:
    log = run_together(Turns(), ["inv_1"] * 4)

    assert log == [("in", "inv_1"), ("out", "inv_1")] * 4


def test_writers_of_different_records_do_not_wait_for_each_other() -> None:
    log = run_together(Turns(), ["inv_1", "inv_2"])

    assert [step for step, _ in log] == ["in", "in", "out", "out"]


def test_a_record_nobody_writes_any_more_is_forgotten() -> None:
    turns = Turns()

    run_together(turns, ["inv_1", "inv_1", "inv_2"])

    assert len(turns) == 0


def test_a_writer_may_take_its_own_records_turn_again() -> None:
    turns = Turns()

    with turns.of("inv_1"), turns.of("inv_1"):
        held = len(turns)

    assert held == 1 and len(turns) == 0
