"""What every CustomerRepository (fake or MongoDB) must do."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from customer.domain.model import Customer
from customer.ports import CustomerRepository
from shared.errors import ConcurrencyConflict, NotFound, ValidationError
from shared.events.envelope import Metadata
from shared.idempotency import KeyTaken, split_key

META = Metadata(actor={"id": "u1", "name": "Ann"})


def new_customer(name: str, **values: Any) -> Customer:
    return Customer.create(f"cus_{uuid.uuid4().hex}", {"name": name, **values})


class CustomerRepositoryContract:
    """Subclasses provide the ``repository`` fixture."""

    def test_a_saved_customer_loads_back_and_its_state_is_the_fold(
            self, repository: CustomerRepository) -> None:
        customer = new_customer("北京云帆", code="C-1")
        repository.save(customer, META)
        customer.change({"phone": "010-1234"})
        repository.save(customer, META)

        loaded = repository.load(customer.id)

        assert loaded.version == 2 and loaded.to_dict() == customer.to_dict()
        assert repository.get(customer.id) == customer.to_dict()
        assert repository.get("cus_unknown") is None
        with pytest.raises(NotFound):
            repository.load("cus_unknown")

    def test_a_stale_head_is_a_concurrency_conflict(self, repository: CustomerRepository) -> None:
        customer = new_customer("Acme")
        repository.save(customer, META)
        stale = repository.load(customer.id)
        customer.change({"phone": "1"})
        repository.save(customer, META)

        stale.change({"phone": "2"})
        with pytest.raises(ConcurrencyConflict):
            repository.save(stale, META)
        assert repository.get(customer.id)["phone"] == "1"  # type: ignore[index]

    def test_pages_go_in_name_order_and_match_names_ignoring_case(
            self, repository: CustomerRepository) -> None:
        tag = uuid.uuid4().hex[:6]
        names = [f"{tag} Delta", f"{tag} alpha", f"{tag} Charlie", f"{tag} bravo", "Other"]
        for name in names:
            repository.save(new_customer(name), META)

        first = repository.page(tag.upper(), 3, None)
        second = repository.page(tag, 3, first["next_cursor"])

        seen = [c["name"] for page in (first, second) for c in page["items"]]
        assert seen == sorted(names[:4], key=str.casefold)
        assert len(first["items"]) == 3 and second["next_cursor"] is None
        assert [c["name"] for c in repository.page("LPH", 10, None)["items"]] == [f"{tag} alpha"]
        assert repository.page(f"{tag} zulu", 10, None) == {"items": [], "next_cursor": None}

    def test_a_renamed_customer_is_found_by_its_new_name_only(
            self, repository: CustomerRepository) -> None:
        tag = uuid.uuid4().hex[:6]
        customer = new_customer(f"{tag} Old")
        repository.save(customer, META)
        customer.change({"name": f"{tag} New"})
        repository.save(customer, META)

        assert [c["id"] for c in repository.page(f"{tag} new", 10, None)["items"]] == [customer.id]
        assert repository.page(f"{tag} old", 10, None)["items"] == []

    def test_a_cursor_not_handed_out_is_a_validation_error(
            self, repository: CustomerRepository) -> None:
        with pytest.raises(ValidationError) as error:
            repository.page(None, 10, "not-a-cursor")
        assert "cursor" in error.value.messages

    def test_an_idempotency_key_is_stored_with_its_customer_and_refuses_a_second_save_whole(
            self, repository: CustomerRepository) -> None:
        key, _ = split_key(f"u-{uuid.uuid4().hex}", "create_customer", {"idempotency_key": "k"})
        assert key is not None and repository.created_with(key) is None
        first = new_customer("幂等客户")
        repository.save(first, META, key)

        second = new_customer("幂等客户")
        with pytest.raises(KeyTaken):
            repository.save(second, META, key)

        stored = repository.created_with(key)
        assert stored is not None and (stored.record_id, stored.fingerprint) == (first.id, key.fingerprint)
        assert repository.get(second.id) is None
        with pytest.raises(NotFound):
            repository.load(second.id)
