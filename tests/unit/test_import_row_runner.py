"""The runner a committed import chunk's rows go through: results in row order, and a
row that raises stops none of the others (its error is raised once all have run)."""
from __future__ import annotations

import eventlet
import pytest

from invoice.adapters.parallel import green_runner


def test_results_come_in_the_rows_order_whatever_order_they_finish_in() -> None:
    def row(n: int) -> int:
        eventlet.sleep(0.001 * (5 - n))
        return n

    assert green_runner(4)([lambda n=n: row(n) for n in range(5)]) == [0, 1, 2, 3, 4]


def test_a_row_that_raises_stops_none_of_the_others() -> None:
    ran: list[int] = []

    def row(n: int) -> int:
        if n == 1:
            raise RuntimeError("row 1 broke")
        eventlet.sleep(0)
        ran.append(n)
        return n

    with pytest.raises(RuntimeError, match="row 1 broke"):
        green_runner(2)([lambda n=n: row(n) for n in range(4)])

    assert sorted(ran) == [0, 2, 3]
