"""The approval service's invoice replica on the real store: the reconcile timer's read
examines the invoices that await an outcome, not every invoice ever replicated."""
from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from approval.adapters.invoice_replica import InvoiceReplica
from tests.support.query_cost import watched

pytestmark = pytest.mark.integration


def replica_state(invoice_id: str, **overrides: Any) -> dict[str, Any]:
    return {"id": invoice_id, "status": "active", "approval_status": "none", "version": 1,
            "pending_change": None, **overrides}


def test_awaiting_outcome_examines_only_the_invoices_that_wait(db: Database[Any], mongo_server: Any) -> None:
    # given many settled invoices and two that wait (a pending approval, a held change)
    InvoiceReplica.ensure_indexes(db)
    replica = InvoiceReplica(db)
    for n in range(300):
        replica.put(replica_state(f"inv_done{n}", approval_status="approved" if n % 2 else "none"))
    replica.put(replica_state("inv_pending", approval_status="pending"))
    replica.put(replica_state("inv_held", pending_change={"request_id": "req_1", "changes": {}}))
    replica.put(replica_state("inv_void", status="void", approval_status="pending"))

    with watched(mongo_server.url, db.name) as (watched_db, examined):
        # when the reconcile timer asks for them
        found = InvoiceReplica(watched_db).awaiting_outcome()

        # then it gets those two, reading a handful of documents, not the collection
        assert sorted(d["id"] for d in found) == ["inv_held", "inv_pending"]
        assert all("awaiting_outcome" not in d for d in found)
        assert max(examined()) <= 5
