"""Tokens: the identity provider's keys in production, HS256 only in dev mode, service
tokens signed with the service's own key; no token without exp, with a long life or an
empty sub is accepted."""
from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

import shared.auth
from shared.auth import (
    AuthSetupError,
    TokenVerifier,
    bearer,
    issue_token,
    service_token,
    token_verifier,
)
from shared.errors import Unauthorized
from shared.keys import KeyRing, ensure, load_signing_key

SECRET = "s" * 32


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    ensure(tmp_path / "keys", ["invoice", "approval"])
    return tmp_path / "keys"


@pytest.fixture
def idp(tmp_path: Path) -> dict[str, Any]:
    """An identity provider with one EdDSA and one RS256 key, and its JWKS file."""
    ed, rsa = Ed25519PrivateKey.generate(), generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [
        {**json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(ed.public_key())), "kid": "idp-ed", "alg": "EdDSA"},
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa.public_key())), "kid": "idp-rsa", "alg": "RS256"},
    ]}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    return {"ed": ed, "rsa": rsa, "file": str(path)}


def user_token(key: Any, alg: str, kid: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "u1", "name": "Ann", "roles": ["sales"], "iat": now, "exp": now + 600, **claims}
    return bearer(jwt.encode({k: v for k, v in body.items() if v is not None}, key,
                             algorithm=alg, headers={"kid": kid}))


def production(keys: Path, idp: dict[str, Any]) -> TokenVerifier:
    return token_verifier({"EVENT_KEYS_DIR": str(keys), "JWKS_FILE": idp["file"], "DEV_MODE": "0"})


def test_production_accepts_identity_provider_tokens_signed_eddsa_or_rs256(keys: Path, idp: dict[str, Any]) -> None:
    verifier = production(keys, idp)

    assert verifier.verify(user_token(idp["ed"], "EdDSA", "idp-ed")).id == "u1"
    assert verifier.verify(user_token(idp["rsa"], "RS256", "idp-rsa")).roles == ("sales",)


def test_production_refuses_shared_secret_tokens(keys: Path, idp: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        production(keys, idp).verify(bearer(issue_token(SECRET, sub="u1", roles=["admin"])))


def test_outside_dev_mode_a_service_without_identity_provider_keys_refuses_to_start(keys: Path) -> None:
    with pytest.raises(AuthSetupError, match="INVOICE_JWKS_FILE"):
        token_verifier({"EVENT_KEYS_DIR": str(keys), "DEV_MODE": "0", "AUTH_SECRET": SECRET})


@pytest.mark.parametrize("claims", [
    {"exp": None},                                 # no expiry
    {"exp": 10**12, "iat": None},                  # expires in 30,000 years
    {"exp": int(time.time()) + 2 * 3600},          # longer than the 1 h maximum
    {"sub": ""}, {"sub": "   "},                   # nobody
    {"roles": ["service"]},                        # the service role from a user's key
])
def test_tokens_without_exp_or_living_too_long_or_with_an_empty_sub_are_refused(
        keys: Path, idp: dict[str, Any], claims: dict[str, Any]) -> None:
    for verifier, token in (
            (production(keys, idp), user_token(idp["ed"], "EdDSA", "idp-ed", **claims)),
            (TokenVerifier(KeyRing(), dev_secret=SECRET), user_token(SECRET, "HS256", "dev", **claims))):
        with pytest.raises(Unauthorized):
            verifier.verify(token)


def test_the_maximum_lifetime_is_configured(keys: Path, idp: dict[str, Any]) -> None:
    token = user_token(idp["ed"], "EdDSA", "idp-ed", exp=int(time.time()) + 1200)
    short = token_verifier({"EVENT_KEYS_DIR": str(keys), "JWKS_FILE": idp["file"],
                            "TOKEN_MAX_LIFETIME": "900"})

    assert production(keys, idp).verify(token).id == "u1"
    with pytest.raises(Unauthorized, match="900"):
        short.verify(token)


def test_service_tokens_are_signed_with_the_services_own_key_and_live_five_minutes_at_most(
        keys: Path, idp: dict[str, Any]) -> None:
    verifier = production(keys, idp)
    invoice = load_signing_key({"EVENT_KEYS_DIR": str(keys)}, "invoice")

    actor = verifier.verify(bearer(service_token(invoice)))
    assert actor.id == "service:invoice" and actor.roles == ("service",)
    with pytest.raises(Unauthorized):
        verifier.verify(bearer(service_token(invoice, ttl_seconds=3600)))
    claiming_another = jwt.encode({"sub": "service:approval", "roles": ["service"],
                                   "exp": int(time.time()) + 60}, invoice.private_key,
                                  algorithm="EdDSA", headers={"kid": invoice.key_id})
    with pytest.raises(Unauthorized):
        verifier.verify(bearer(claiming_another))
    with pytest.raises(Unauthorized):  # the dev secret never makes a service
        TokenVerifier(KeyRing(), dev_secret=SECRET).verify(
            bearer(issue_token(SECRET, sub="service:invoice", roles=["service"])))


def test_dev_mode_says_so_loudly_and_pyjwt_warnings_are_not_silenced(
        keys: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.auth"):
        verifier = token_verifier({"EVENT_KEYS_DIR": str(keys), "DEV_MODE": "1",
                                   "AUTH_SECRET": "dev-secret-change-me"})

    assert verifier.verify(bearer(issue_token("dev-secret-change-me", sub="u1"))).id == "u1"
    assert "DEV MODE" in caplog.text and "PUBLIC DEFAULT SECRET" in caplog.text
    assert not any("HMAC" in str(getattr(f[1], "pattern", "")) for f in warnings.filters)
    assert "filterwarnings" not in Path(shared.auth.__file__).read_text()


def test_a_key_added_to_the_jwks_signs_user_tokens_the_services_accept(
        keys: Path, idp: dict[str, Any], tmp_path: Path) -> None:
    from shared.auth import user_token as signed_user_token
    from shared.keys import add_to_jwks

    sessions = tmp_path / "sessions"
    ensure(sessions, ["gateway_session"])
    assert add_to_jwks(idp["file"], sessions) == ["gateway_session-1"]
    assert add_to_jwks(idp["file"], sessions) == ["gateway_session-1"]  # replaced, not doubled
    kids = [k["kid"] for k in json.loads(Path(idp["file"]).read_text())["keys"]]
    assert kids == ["idp-ed", "idp-rsa", "gateway_session-1"]  # the IdP's keys stay
    verifier = token_verifier({"EVENT_KEYS_DIR": str(keys), "JWKS_FILE": idp["file"], "DEV_MODE": "0"})
    key = load_signing_key({"EVENT_KEYS_DIR": str(sessions)}, "gateway_session")
    token = signed_user_token(key, sub="gw-sales", department="dept-2", roles=["sales"])
    actor = verifier.verify(bearer(token))
    assert (actor.id, actor.department, actor.roles) == ("gw-sales", "dept-2", ("sales",))
    other = tmp_path / "other"
    ensure(other, ["gateway_session"])  # same key id, another key
    with pytest.raises(Unauthorized):
        verifier.verify(bearer(signed_user_token(load_signing_key(
            {"EVENT_KEYS_DIR": str(other)}, "gateway_session"), sub="gw-sales", roles=["admin"])))
