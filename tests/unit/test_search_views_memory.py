"""The in-memory search views (the as-of target) honour the views' contract."""
import pytest

from search.adapters.memory import MemoryViews
from tests.contracts.search_views import SearchViewsContract


class TestMemoryViews(SearchViewsContract):
    @pytest.fixture
    def views(self) -> MemoryViews:
        return MemoryViews()
