"""What every InvoiceRepository (fake or MongoDB) must do."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from invoice.domain.importing import AlreadyImported
from invoice.domain.model import Invoice
from invoice.ports import InvoiceRepository
from shared.errors import ConcurrencyConflict, Conflict, NotFound
from shared.events.envelope import Metadata, StreamHead, chain_breaks
from shared.idempotency import KeyTaken, split_key

META = Metadata(actor={"id": "u1", "name": "Ann"})


def new_invoice(**values: Any) -> Invoice:
    fields = {"title": "发票", "type": "receipt", "amount": Decimal("10.00"),
              "issued_on": "2026-05-01", "customer_id": "cus_1", **values}
    suffix = uuid.uuid4().hex
    return Invoice.create(f"inv_{suffix}", f"INV-T-{suffix[:12]}", fields)


class InvoiceRepositoryContract:
    """Subclasses provide the ``repository`` fixture, and ``tamper``: a function that
    changes one field of a stored state document behind the repository's back."""

    def test_a_state_document_that_differs_from_its_events_is_reported(
            self, repository: InvoiceRepository, tamper: Any) -> None:
        invoice = new_invoice(amount=Decimal("11.00"))
        repository.save(invoice, META)
        untouched = new_invoice()
        repository.save(untouched, META)
        assert repository.state_breaks([invoice.id, untouched.id]) == []

        tamper(invoice.id, "amount", Decimal("88888.00"))

        for breaks in (repository.state_breaks([invoice.id, untouched.id]),
                       [b for b in repository.state_breaks(None)
                        if b["invoice_id"] in (invoice.id, untouched.id)]):
            assert [(b["invoice_id"], b["version"]) for b in breaks] == [(invoice.id, 1)]
            assert "differs from the fold of its events" in breaks[0]["reason"]

    def test_a_saved_invoice_loads_back_as_the_same_fold(self, repository: InvoiceRepository) -> None:
        invoice = new_invoice(custom={"budget": Decimal("12.50")})
        repository.save(invoice, META)
        invoice.change({"remarks": "x"})
        repository.save(invoice, META)

        loaded = repository.load(invoice.id)

        assert loaded.to_dict() == invoice.to_dict() and loaded.version == 2
        assert repository.state(invoice.id) == invoice.to_dict()
        assert loaded.head == StreamHead(2, invoice.head.hash)

    def test_earlier_versions_replay_from_the_stream(self, repository: InvoiceRepository) -> None:
        invoice = new_invoice()
        repository.save(invoice, META)
        invoice.change({"remarks": "later"})
        repository.save(invoice, META)

        first = repository.load(invoice.id, up_to_version=1)

        assert first.version == 1 and first.fields["remarks"] is None
        with pytest.raises(NotFound):
            repository.load(invoice.id, as_of="2001-01-01T00:00:00.000Z")

    def test_a_stale_head_is_a_concurrency_conflict(self, repository: InvoiceRepository) -> None:
        invoice = new_invoice()
        repository.save(invoice, META)
        stale = repository.load(invoice.id)
        invoice.change({"remarks": "first"})
        repository.save(invoice, META)

        stale.change({"remarks": "second"})
        with pytest.raises(ConcurrencyConflict):
            repository.save(stale, META)
        assert repository.load(invoice.id).fields["remarks"] == "first"

    def test_an_invoice_no_is_unique_among_active_invoices_of_a_type(self, repository: InvoiceRepository) -> None:
        number = f"NO-{uuid.uuid4().hex[:6]}"
        first = new_invoice(invoice_no=number)
        repository.save(first, META)

        assert repository.invoice_no_taken("receipt", number, None)
        assert not repository.invoice_no_taken("receipt", number, first.id)
        assert not repository.invoice_no_taken("vat_special", number, None)
        with pytest.raises(Conflict):
            repository.save(new_invoice(invoice_no=number), META)
        first.void("wrong")
        repository.save(first, META)
        assert not repository.invoice_no_taken("receipt", number, None)
        repository.save(new_invoice(invoice_no=number), META)

    def test_record_numbers_are_never_handed_out_twice(self, repository: InvoiceRepository) -> None:
        numbers = [repository.next_number(2026) for _ in range(45)]
        assert len(set(numbers)) == 45 and all(n.startswith("INV-2026-") for n in numbers)

    def test_events_are_the_chained_envelopes_of_the_invoice_only(self, repository: InvoiceRepository) -> None:
        invoice = new_invoice()
        repository.save(invoice, META)
        invoice.change({"courier": "EMS"})
        repository.save(invoice, META)

        events = repository.events(invoice.id)

        assert [e["type"] for e in events] == ["InvoiceCreated", "InvoiceFieldsChanged"]
        assert chain_breaks(events) == []
        assert repository.events(invoice.id, after_version=1) == events[1:]
        assert repository.events("inv_unknown") == []
        with pytest.raises(NotFound):
            repository.load("inv_unknown")

    def test_a_credit_note_and_its_originals_event_are_saved_together_or_not_at_all(
            self, repository: InvoiceRepository) -> None:
        original = new_invoice(invoice_no=f"NO-{uuid.uuid4().hex[:8]}")
        repository.save(original, META)
        note = Invoice.create(f"inv_{uuid.uuid4().hex}", f"INV-T-{uuid.uuid4().hex[:12]}",
                              {"title": "红字", "type": "receipt", "amount": Decimal("-4.00"),
                               "issued_on": "2026-05-02", "customer_id": "cus_1"},
                              credits={"invoice_id": original.id, "reason": "折让"})
        original.issue_credit(note.id, Decimal("4.00"), None, "折让")

        repository.save_together(original, note, META)

        assert repository.state(original.id)["credited_amount"] == Decimal("4.00")
        assert repository.state(note.id)["credits_invoice_id"] == original.id
        assert repository.load(note.id).credit["kind"] == "credit"
        # a second note clashing on invoice_no writes neither stream
        clash = Invoice.create(f"inv_{uuid.uuid4().hex}", f"INV-T-{uuid.uuid4().hex[:12]}",
                               {"title": "红字", "type": "receipt", "amount": Decimal("-1.00"),
                                "issued_on": "2026-05-02", "customer_id": "cus_1",
                                "invoice_no": original.fields["invoice_no"]},
                               credits={"invoice_id": original.id, "reason": "x"})
        original.issue_credit(clash.id, Decimal("1.00"), None, "x")
        with pytest.raises(Conflict):
            repository.save_together(original, clash, META)
        assert repository.load(original.id).version == 2
        assert repository.state(clash.id) is None

    def test_an_idempotency_key_is_stored_with_its_invoice_and_refuses_a_second_save_whole(
            self, repository: InvoiceRepository) -> None:
        key, _ = split_key(f"u-{uuid.uuid4().hex}", "create_invoice", {"idempotency_key": "k"})
        assert key is not None and repository.created_with(key) is None
        first = new_invoice()
        repository.save(first, META, key)

        second = new_invoice()
        with pytest.raises(KeyTaken):
            repository.save(second, META, key)

        stored = repository.created_with(key)
        assert stored is not None and (stored.record_id, stored.fingerprint) == (first.id, key.fingerprint)
        assert repository.state(second.id) is None and repository.events(second.id) == []

    def test_a_credit_notes_key_is_stored_in_the_same_transaction_as_both_streams(
            self, repository: InvoiceRepository) -> None:
        key, _ = split_key(f"u-{uuid.uuid4().hex}", "create_credit_note", {"idempotency_key": "k"})
        assert key is not None
        original = new_invoice()
        repository.save(original, META)

        def note_of(invoice: Invoice) -> Invoice:
            note = Invoice.create(f"inv_{uuid.uuid4().hex}", f"INV-T-{uuid.uuid4().hex[:12]}",
                                  {"title": "红字", "type": "receipt", "amount": Decimal("-1.00"),
                                   "issued_on": "2026-05-02", "customer_id": "cus_1"},
                                  credits={"invoice_id": invoice.id, "reason": "折让"})
            invoice.issue_credit(note.id, Decimal("1.00"), None, "折让")
            return note

        note = note_of(original)
        repository.save_together(original, note, META, key)
        again = repository.load(original.id)
        second = note_of(again)
        with pytest.raises(KeyTaken):
            repository.save_together(again, second, META, key)

        assert repository.created_with(key).record_id == note.id  # type: ignore[union-attr]
        assert repository.load(original.id).version == 2 and repository.state(second.id) is None

    def test_an_import_key_is_stored_with_the_invoice_and_refused_a_second_time(
            self, repository: InvoiceRepository) -> None:
        external_id = f"ext-{uuid.uuid4().hex}"
        first, second = new_invoice(), new_invoice()
        repository.save_imported(first, META, external_id)

        with pytest.raises(AlreadyImported) as refused:
            repository.save_imported(second, META, external_id)

        assert refused.value.invoice_id == first.id
        assert repository.imported([external_id, "never-seen"]) == {external_id: first.id}
        assert repository.state(second.id) is None and repository.events(second.id) == []
        assert repository.load(first.id).version == 1
