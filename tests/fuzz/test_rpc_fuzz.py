"""Property: whatever arrives on the RPC exchange, every service answers with success
or a contract error, appends no event for a refused call, and keeps running.

Every RPC method of the four services is found by introspection (a new one is fuzzed
without edits here). Examples are derandomized, so a CI failure reproduces locally;
hypothesis prints the falsifying call."""
from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approval.service import ApprovalService
from customer.service import CustomerService
from invoice.service import InvoiceService
from search.service import SearchService
from shared.rpc import AuthenticatedRpc
from tests.fuzz.payloads import JSON, NUMBER_ARGS, SWEEP_NUMBERS, SWEEP_OTHERS, Seed, argument
from tests.support.actors import Clients
from tests.support.raw_rpc import RawRpc, auth_headers
from tests.support.system import System

CONTRACT_ERRORS = {"ValidationError", "NotFound", "Conflict", "ConcurrencyConflict",
                   "Forbidden", "Unauthorized"}
EVENT_SOURCES = {"customer", "invoice", "approval"}  # services with read_events
REPLY_TIMEOUT = 20.0

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def rpc_methods(service_cls: type) -> dict[str, Callable[..., Any]]:
    return {name: fn for name, fn in inspect.getmembers(service_cls, inspect.isfunction)
            if any(isinstance(e, AuthenticatedRpc) for e in getattr(fn, "nameko_entrypoints", ()))}


SERVICES = {cls.name: rpc_methods(cls)
            for cls in (CustomerService, InvoiceService, ApprovalService, SearchService)}
METHODS = sorted((service, name) for service, methods in SERVICES.items() for name in methods)


def parameters(service: str, method: str) -> list[inspect.Parameter]:
    return list(inspect.signature(SERVICES[service][method]).parameters.values())[1:]


# -- calls --------------------------------------------------------------------------
CALLERS = st.sampled_from(["admin", "admin", "admin", "finance", "sales", "auditor", "service",
                           "anonymous"])


def well_formed_call(data: st.DataObject, seed: Seed) -> tuple[str, str, list[Any], dict[str, Any]]:
    """A method with the right number of arguments, each random or near-valid."""
    service, method = data.draw(st.sampled_from(METHODS), "method")
    params = parameters(service, method)
    required = [p for p in params if p.default is inspect.Parameter.empty]
    optional = [p for p in params if p.default is not inspect.Parameter.empty]
    args = [data.draw(argument(seed, method, p), p.name) for p in required]
    chosen = data.draw(st.lists(st.sampled_from(optional), unique=True), "optional") if optional else []
    return service, method, args, {p.name: data.draw(argument(seed, method, p), p.name) for p in chosen}


@st.composite
def misshapen_calls(draw: st.DrawFn) -> tuple[str, str, list[Any], dict[str, Any]]:
    """A method with too many, too few or unknown arguments."""
    service, method = draw(st.sampled_from(METHODS))
    names = [p.name for p in parameters(service, method)]
    args = draw(st.lists(JSON, min_size=len(names) + 1, max_size=len(names) + 2)
                | st.just([]))
    kwargs = draw(st.dictionaries(st.sampled_from(names + ["nope", "self", "data"]) if names
                                  else st.just("nope"), JSON, max_size=3))
    return service, method, args, kwargs


# -- checking -------------------------------------------------------------------------
class Referee:
    """Sends a call, checks the answer, the event stores and the processes."""

    def __init__(self, system: System, raw: RawRpc, tokens: dict[str, str | None], seed: Seed) -> None:
        self.system, self.raw, self.tokens, self.seed = system, raw, tokens, seed
        self.positions = {name: self._last_position(name) for name in EVENT_SOURCES}
        self.last_caused: list[dict[str, Any]] = []

    def _call(self, routing_key: str, body: bytes, caller: str = "admin",
              correlation_id: str | None = None, content_type: str = "application/json") -> Any:
        headers = auth_headers(self.tokens[caller]) if self.tokens[caller] else {}
        if correlation_id:
            headers["nameko.correlation_id"] = correlation_id
        reply = self.raw.call(routing_key, body, content_type=content_type, headers=headers,
                              timeout=REPLY_TIMEOUT)
        if reply is None:
            self.assert_alive()
            raise AssertionError(f"no reply within {REPLY_TIMEOUT}s to {routing_key} {body[:300]!r}")
        return reply

    def _last_position(self, service: str) -> int:
        position = 0
        while True:
            reply = self._call(f"{service}.read_events", json.dumps(
                {"args": [], "kwargs": {"after_position": position, "limit": 1000}}).encode())
            assert reply["error"] is None, reply["error"]
            if not reply["result"]["events"]:
                return position
            position = reply["result"]["last_position"]

    def _events_since(self, service: str, position: int) -> list[dict[str, Any]]:
        reply = self._call(f"{service}.read_events", json.dumps(
            {"args": [], "kwargs": {"after_position": position, "limit": 1000}}).encode())
        assert reply["error"] is None, reply["error"]
        return list(reply["result"]["events"])

    def judge(self, service: str, method: str, body: bytes, caller: str,
              content_type: str = "application/json") -> dict[str, Any]:
        correlation_id = f"fuzz-{uuid.uuid4().hex}"
        reply = self._call(f"{service}.{method}", body, caller, correlation_id, content_type)
        error = reply.get("error")
        if error is not None:
            assert error.get("exc_type") in CONTRACT_ERRORS, \
                f"{service}.{method} answered {error.get('exc_type')}: {error.get('value')!r}"
        if service in EVENT_SOURCES:
            events = self._events_since(service, self.positions[service])
            if events:
                self.positions[service] = max(e["position"] for e in events)
            caused = [e for e in events if e.get("correlation_id") == correlation_id]
            self.last_caused = caused
            if error is not None:
                assert not caused, f"{service}.{method} failed with {error['exc_type']} " \
                                   f"but appended {[e['type'] for e in caused]}"
        return dict(reply)

    def assert_alive(self) -> None:
        dead = [p.name for p in self.system.processes if not p.alive()]
        assert not dead, f"died: {dead}\n" + "\n".join(
            p.log_tail() for p in self.system.processes if not p.alive())


@pytest.fixture(scope="module")
def referee(fuzz_system: System, raw: RawRpc, tokens: dict[str, str | None]) -> Referee:
    clients = Clients(fuzz_system.amqp_uri)
    try:
        seed = Seed.make(clients.with_authorization(tokens["admin"]))
    finally:
        clients.close()
    return Referee(fuzz_system, raw, tokens, seed)


def body_of(args: list[Any], kwargs: dict[str, Any]) -> bytes:
    return json.dumps({"args": args, "kwargs": kwargs}).encode()


def test_the_referee_sees_the_events_a_call_appends(referee: Referee) -> None:
    # the no-event-on-error check finds events by correlation id: prove it finds them
    reply = referee.judge("customer", "create_customer", body_of([{"name": "fuzz 客户"}], {}), "admin")
    assert reply["error"] is None
    assert [e["type"] for e in referee.last_caused] == ["CustomerCreated"]


@pytest.mark.parametrize("target", [m for m in METHODS if parameters(*m)], ids=".".join)
def test_each_argument_at_its_edges_gets_a_contract_answer(referee: Referee, target: tuple[str, str]) -> None:
    """A sweep, not a search: every argument of the method in turn takes each edge value
    while the others are plausible (random search seldom lands on one exact argument)."""
    service, method = target
    params = parameters(service, method)
    for swept in params:
        for edge in SWEEP_NUMBERS if swept.name in NUMBER_ARGS else SWEEP_OTHERS:
            values = {p.name: edge if p is swept else referee.seed.valid(method, p) for p in params}
            referee.judge(service, method, body_of([], values), "admin")
    referee.assert_alive()


# -- properties -----------------------------------------------------------------------
@FUZZ
@given(data=st.data(), caller=CALLERS)
def test_any_arguments_get_success_or_a_contract_error(referee: Referee, data: st.DataObject,
                                                       caller: str) -> None:
    service, method, args, kwargs = well_formed_call(data, referee.seed)
    referee.judge(service, method, body_of(args, kwargs), caller)


@settings(FUZZ, max_examples=60)
@given(call=misshapen_calls())
def test_wrong_arity_is_a_validation_error(referee: Referee, call: Any) -> None:
    service, method, args, kwargs = call
    reply = referee.judge(service, method, body_of(args, kwargs), "admin")
    assert reply["error"] is not None and reply["error"]["exc_type"] in ("ValidationError", "Unauthorized") \
        or not args and set(kwargs) <= {p.name for p in parameters(service, method)}


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.integers(min_value=1, max_value=50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=50_000).map(lambda depth: b'{"args": ' + b"[" * depth),
    st.sampled_from([b'{"args": [], "kwargs": {"x": "\xff"}}', b"\xef\xbb\xbf{}", b"NaN",
                     b'{"args": [], "kwargs": {}, "args": 1}', b'{"args": [1e400], "kwargs": {}}']),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json", "text/plain",
                                 "application/x-python-serialize", "application/x-yaml",
                                 "application/octet-stream", ""])


@settings(FUZZ, max_examples=80)
@given(target=st.sampled_from(METHODS), body=RAW_BODIES, content_type=CONTENT_TYPES,
       answerable=st.booleans())
def test_raw_bodies_are_answered_or_dropped_and_nothing_stops(
        referee: Referee, raw: RawRpc, target: tuple[str, str], body: bytes, content_type: str,
        answerable: bool) -> None:
    service, method = target
    if answerable:
        referee.judge(service, method, body, "admin", content_type)
    else:
        raw.publish(f"{service}.{method}", body, content_type=content_type, reply=False,
                    headers=auth_headers(str(referee.tokens["admin"])))
    referee.assert_alive()


HEADER_VALUES = st.one_of(st.text(max_size=40), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
                          st.booleans(), st.lists(st.text(max_size=5), max_size=3),
                          st.sampled_from(["Bearer ", "Bearer x.y.z", "bearer " + "a" * 2000, ""]))


@settings(FUZZ, max_examples=40)
@given(target=st.sampled_from(METHODS), headers=st.dictionaries(
    st.sampled_from(["nameko.authorization", "nameko.correlation_id", "nameko.call_id_stack",
                     "nameko.user_agent", "nameko.", "x-other"]), HEADER_VALUES, max_size=4))
def test_any_context_headers_get_a_contract_answer(referee: Referee, raw: RawRpc,
                                                   target: tuple[str, str], headers: dict[str, Any]) -> None:
    service, method = target
    reply = raw.call(f"{service}.{method}", body_of([], {}), headers=headers, timeout=REPLY_TIMEOUT)
    assert reply is not None, f"no reply to {service}.{method} with headers {headers!r}"
    error = reply["error"]
    assert error is None or error["exc_type"] in CONTRACT_ERRORS, error
    referee.assert_alive()


def test_every_service_still_answers_after_the_fuzzing(referee: Referee) -> None:
    for service in ("customer", "invoice", "approval", "search"):
        method = {"customer": "list_customers", "invoice": "list_invoice_types",
                  "approval": "list_flows", "search": "projection_status"}[service]
        assert referee.judge(service, method, body_of([], {}), "admin")["error"] is None
    referee.assert_alive()
