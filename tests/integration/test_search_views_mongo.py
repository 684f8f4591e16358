"""The MongoDB search views honour the same contract as the in-memory ones."""
from typing import Any

import pytest

from search.adapters.views import MongoViews
from tests.contracts.search_views import SearchViewsContract


class TestMongoViews(SearchViewsContract):
    @pytest.fixture
    def views(self, db: Any) -> MongoViews:
        return MongoViews(db, 0)
