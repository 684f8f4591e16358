"""A search over many invoice views keeps about a page of them in memory, not every
view it reads (issue 14: an unfiltered search held all 100,000 views; the search
service's RSS grew with the collection)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from search.application.queries import Queries
from shared.auth import Actor, Policy

ADMIN = Actor("admin-1", "Ada", "hq", ("admin",))


class Counted(dict[str, Any]):
    """A view document that knows how many of its kind are alive (CPython frees a
    document as soon as nothing refers to it)."""
    alive: ClassVar[int] = 0
    most: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Counted.alive += 1
        Counted.most = max(Counted.most, Counted.alive)

    def __del__(self) -> None:
        Counted.alive -= 1


class StreamedViews:
    """Views that read ``count`` invoice views one at a time, as a cursor does."""

    def __init__(self, count: int) -> None:
        self.count = count

    def custom_fields(self) -> list[dict[str, Any]]:
        return []

    def find_invoices(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        for n in range(self.count):
            yield Counted(_id=f"inv_{n:05d}", id=f"inv_{n:05d}", number=f"INV-{n:05d}",
                          kind="invoice", type="receipt", status="void" if n % 10 == 0 else "active",
                          amount="1.00", issued_on=f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
                          customer_id=f"cus_{n % 7}", owner_id="u1", department_id="d1", custom={})

    def find_buckets(self, driver: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield from ()


def test_an_unfiltered_search_holds_about_a_page_of_views() -> None:
    Counted.alive = Counted.most = 0
    queries = Queries(StreamedViews(3000), Policy.load(), ADMIN)  # type: ignore[arg-type]

    first = queries.search({"limit": 20})
    second = queries.search({"limit": 20, "cursor": first["next_cursor"]})

    # the answers are the whole collection's, in order
    assert first["total"] == second["total"] == 2700
    ordered = sorted((f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}", f"inv_{n:05d}")
                     for n in range(3000) if n % 10)
    ordered.sort(key=lambda pair: pair[0], reverse=True)
    assert [i["id"] for i in first["items"] + second["items"]] == [i for _, i in ordered[:40]]
    # but no more than about a page of views was alive at once
    assert Counted.most <= 60
