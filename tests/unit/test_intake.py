"""Shape and arity of an RPC body, checked before a worker runs."""
from __future__ import annotations

from typing import Any

from shared.intake import arity_errors, call_shape_errors


class Service:
    def update(self, customer_id: Any, changes: Any, expected_version: Any = None) -> None:
        """A method like the services' entrypoints."""


def test_a_well_formed_body_has_no_shape_errors() -> None:
    assert call_shape_errors({"args": [], "kwargs": {}}) == {}


def test_a_body_that_is_not_an_object_is_a_schema_error() -> None:
    assert set(call_shape_errors([1, 2])) == {"_schema"}


def test_args_and_kwargs_of_the_wrong_type_are_named() -> None:
    assert set(call_shape_errors({"args": {}, "kwargs": []})) == {"args", "kwargs"}


def test_a_call_that_binds_has_no_arity_errors() -> None:
    assert arity_errors(Service.update, ["c-1"], {"changes": {}, "expected_version": 2}) == {}


def test_a_missing_argument_is_named() -> None:
    assert arity_errors(Service.update, ["c-1"], {}) == {"changes": ["missing required argument"]}


def test_too_many_positional_arguments_are_reported_on_args() -> None:
    assert set(arity_errors(Service.update, ["a", "b", "c", "d"], {})) == {"args"}


def test_an_unknown_or_repeated_keyword_is_named() -> None:
    errors = arity_errors(Service.update, ["c-1", {}], {"customer_id": "x", "colour": 1})
    assert errors == {"customer_id": ["given both by position and by name"],
                      "colour": ["unknown argument"]}
