"""Pure pieces of the gateway: list parameters → search query, If-Match, export cells,
redirect targets, OpenAPI paths, problem mapping."""
from __future__ import annotations

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.api.common import expected_version, json_body
from gateway.export import cell_text, columns_for, plain_text, row_of
from gateway.openapi import openapi_path
from gateway.problems import HttpProblem, from_contract_error, problem_for
from gateway.schemas import search_query
from gateway.signin import safe_next
from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound, Unauthorized, ValidationError


def request(**kwargs: object) -> Request:
    return Request(EnvironBuilder(**kwargs).get_environ())  # type: ignore[arg-type]


def test_list_parameters_become_one_search_query() -> None:
    query = search_query({"q": "顺丰", "type": "receipt", "issued_from": "2026-01-01",
                          "issued_to": "2026-01-31", "sort": "-amount,issued_on", "limit": 20,
                          "cursor": "c1", "include_void": True})

    assert query == {
        "filters": [{"field": "type", "op": "eq", "value": "receipt"},
                    {"field": "issued_on", "op": "gte", "value": "2026-01-01"},
                    {"field": "issued_on", "op": "lte", "value": "2026-01-31"}],
        "text": "顺丰", "include_void": True,
        "sort": [{"field": "amount", "dir": "desc"}, {"field": "issued_on", "dir": "asc"}],
        "limit": 20, "cursor": "c1"}
    assert "limit" not in search_query({"limit": 5}, paged=False)


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"12"', 12), ("*", None), (None, None)])
def test_if_match_names_the_expected_version(header: str | None, version: int | None) -> None:
    headers = {} if header is None else {"If-Match": header}
    assert expected_version(request(headers=headers)) == version


@pytest.mark.parametrize("header", ["3", '"a"', '"1", "2"', '""'])
def test_a_malformed_if_match_is_400(header: str) -> None:
    with pytest.raises(HttpProblem) as refused:
        expected_version(request(headers={"If-Match": header}))
    assert refused.value.status == 400


def test_json_bodies_need_the_json_content_type_and_valid_json() -> None:
    assert json_body(request(method="POST", data='{"a": 1}', content_type="application/json")) == {"a": 1}
    for data, content_type in (('{"a": 1}', "text/plain"), ("{", "application/json"),
                               (b"\xff", "application/json")):
        with pytest.raises(HttpProblem) as refused:
            json_body(request(method="POST", data=data, content_type=content_type))
        assert refused.value.status == 400


def test_export_cells_defuse_formulas_and_flatten_values() -> None:
    assert cell_text("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert cell_text("-1") == "'-1" and cell_text("@x") == "'@x" and cell_text("+1") == "'+1"
    assert plain_text(None) == "" and plain_text(["pay_1", "pay_2"]) == "pay_1;pay_2"
    assert plain_text({"id": "u1", "name": "张三"}) == "张三" and plain_text(True) == "true"
    columns = columns_for([{"key": "level"}])
    row = row_of({"id": "inv_1", "amount": "10.00", "custom": {"level": "A"}}, columns)
    assert columns[-1] == "custom.level" and row[0] == "inv_1" and row[-1] == "A"
    assert row[columns.index("amount")] == "10.00"


@pytest.mark.parametrize(("target", "expected"), [
    ("/invoices/inv_1", "/invoices/inv_1"), ("//evil.example", "/invoices"),
    ("https://evil.example", "/invoices"), ("/\\evil", "/invoices"), (None, "/invoices")])
def test_sign_in_redirects_only_to_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_route_rules_become_openapi_paths_with_parameters() -> None:
    path, params = openapi_path("/api/calendar/<int:year>/<int:month>")
    decided, choices = openapi_path("/api/approval/requests/<request_id>/<any(approve, reject):decision>")

    assert path == "/api/calendar/{year}/{month}"
    assert [p["schema"]["type"] for p in params] == ["integer", "integer"]
    assert decided == "/api/approval/requests/{request_id}/{decision}"
    assert choices[1]["schema"]["enum"] == ["approve", "reject"]


def test_contract_errors_map_to_the_contract_statuses() -> None:
    cases = [(ValidationError.field("title", "required"), False, 422),
             (ConcurrencyConflict(4), True, 412), (ConcurrencyConflict(4), False, 409),
             (Conflict("taken"), False, 409), (NotFound("no"), False, 404),
             (Forbidden("no"), False, 403), (Unauthorized("no"), False, 401)]
    for error, had_if_match, status in cases:
        assert from_contract_error(error, had_if_match=had_if_match).status == status
    stale = json.loads(from_contract_error(ConcurrencyConflict(4), had_if_match=True).response().get_data())
    assert stale["errors"] == {"current_version": 4}


def test_an_unexpected_error_is_a_generic_500_naming_only_the_request_id() -> None:
    problem = problem_for(KeyError("secret-internal-detail"), request_id="rid-123", had_if_match=False)

    body = problem.response().get_data(as_text=True)
    assert problem.status == 500 and "rid-123" in body and "secret-internal-detail" not in body
