"""Event signing keys: each service signs the hash of every event it stores with its own
Ed25519 private key; everyone who reads events checks the signature with the
producer's public key.

Files (under ``EVENT_KEYS_DIR``, default ``var/keys``):

    private/<service>-<n>.key   the private key (PKCS#8 PEM, mode 0600): only the
                                service's own machine or container needs it
    public/<service>-<n>.pub    its public key (SubjectPublicKeyInfo PEM): everyone

``<service>-<n>`` is the key id written into every envelope (``key_id``) and into the
``kid`` of the service's own tokens. A service signs with its highest-numbered private
key (or ``EVENT_SIGNING_KEY_FILE``, a file named ``<service>-<n>.key``); every ``.pub``
is accepted, so rotation is: ``rotate`` a new key, hand its ``.pub`` to every service
(restart them), then restart the producer; keep the old ``.pub`` as long as events
signed with it are kept (for ever: the store is append-only).

    python -m shared.keys ensure var/keys invoice customer approval search
    python -m shared.keys rotate var/keys invoice
"""
from __future__ import annotations

import argparse
import base64
import binascii
import functools
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.events.envelope import compute_hash

DEFAULT_KEYS_DIR = "var/keys"
KEY_ID = re.compile(r"^(?P<service>[a-z][a-z0-9_]*)-(?P<n>[0-9]{1,6})$")
SIGNED_PREFIX = b"crm-event-hash:"


class KeysMissing(Exception):
    """Raised when a service has no key to sign with or no public keys to check with."""


def key_service(key_id: str) -> str | None:
    """The service a key id belongs to (None for a malformed id)."""
    match = KEY_ID.match(key_id) if isinstance(key_id, str) else None
    return match["service"] if match else None


@dataclass(frozen=True)
class SigningKey:
    """One service's private key: signs event hashes (and that service's tokens)."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def service(self) -> str:
        return str(key_service(self.key_id))

    def sign(self, event_hash: str) -> str:
        return base64.b64encode(self.private_key.sign(SIGNED_PREFIX + event_hash.encode())).decode()

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


@dataclass
class KeyRing:
    """Public keys by key id; a key id names the service that holds its private key."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, directory: str | Path) -> KeyRing:
        ring = cls()
        for path in sorted(Path(directory).glob("*.pub")):
            if key_service(path.stem) is not None:
                loaded = serialization.load_pem_public_key(path.read_bytes())
                if isinstance(loaded, Ed25519PublicKey):
                    ring.keys[path.stem] = loaded
        return ring

    def problems(self, envelope: Mapping[str, Any], producer: str) -> list[str]:
        """Why ``envelope`` is not an unaltered event signed by ``producer`` ([] if it is)."""
        found = []
        if compute_hash(envelope) != envelope.get("hash"):
            found.append("hash does not match the event's content")
        return found + self.signature_problems(envelope.get("hash"), envelope.get("key_id"),
                                               envelope.get("signature"), producer)

    def signature_problems(self, event_hash: Any, key_id: Any, signature: Any,
                           producer: str) -> list[str]:
        """Why ``signature`` is not ``producer``'s signature of ``event_hash``."""
        if not key_id or not signature:
            return ["event is not signed"]
        if key_service(key_id) != producer:
            return [f"signed with key {key_id!r}, not a key of {producer!r}"]
        public = self.keys.get(key_id)
        if public is None:
            return [f"unknown signing key {key_id!r}"]
        try:
            public.verify(base64.b64decode(str(signature), validate=True),
                          SIGNED_PREFIX + str(event_hash).encode())
        except (InvalidSignature, binascii.Error, ValueError):
            return ["signature does not match the event's hash"]
        return []


# -- configuration -------------------------------------------------------------------------
def keys_dir(config: Mapping[str, Any]) -> Path:
    return Path(str(config.get("EVENT_KEYS_DIR") or os.environ.get("EVENT_KEYS_DIR")
                    or DEFAULT_KEYS_DIR))


def public_dir(root: str | Path) -> Path:
    return Path(root) / "public"


def private_dir(root: str | Path) -> Path:
    return Path(root) / "private"


def load_signing_key(config: Mapping[str, Any], service: str, *, use_env: bool = True) -> SigningKey:
    """The service's signing key: ``EVENT_SIGNING_KEY_FILE`` or its newest key in the
    keys directory. Raises KeysMissing: a service never stores unsigned events.
    ``use_env=False``: the config alone says where (a second key of one process)."""
    explicit = config.get("EVENT_SIGNING_KEY_FILE") or \
        (os.environ.get("EVENT_SIGNING_KEY_FILE") if use_env else None)
    path = Path(str(explicit)) if explicit else \
        _newest(private_dir(keys_dir(config)), service, ".key")
    if path is None or not path.is_file():
        raise KeysMissing(f"no event signing key for {service!r} (EVENT_SIGNING_KEY_FILE, or "
                          f"{service}-<n>.key in {private_dir(keys_dir(config))}; make one with "
                          f"'python -m shared.keys ensure {keys_dir(config)} {service}')")
    if key_service(path.name.removesuffix(".key")) != service:
        raise KeysMissing(f"{path.name}: a signing key of {service!r} is named {service}-<n>.key")
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise KeysMissing(f"{path} is not an Ed25519 private key")
    return SigningKey(path.name.removesuffix(".key"), private)


def cached_signing_key(config: Mapping[str, Any], service: str) -> SigningKey:
    """``load_signing_key``, read once per process (service tokens are made per call)."""
    explicit = config.get("EVENT_SIGNING_KEY_FILE") or os.environ.get("EVENT_SIGNING_KEY_FILE") or ""
    return _cached_key(str(keys_dir(config)), str(explicit), service)


@functools.lru_cache(maxsize=16)
def _cached_key(directory: str, explicit: str, service: str) -> SigningKey:
    return load_signing_key({"EVENT_KEYS_DIR": directory, "EVENT_SIGNING_KEY_FILE": explicit}, service)


def load_key_ring(config: Mapping[str, Any]) -> KeyRing:
    """Every public key in the keys directory; KeysMissing when there is none."""
    ring = KeyRing.from_dir(public_dir(keys_dir(config)))
    if not ring.keys:
        raise KeysMissing(f"no public event keys (<service>-<n>.pub) in "
                          f"{public_dir(keys_dir(config))}")
    return ring


# -- JWKS ----------------------------------------------------------------------------------
def public_jwk(key_id: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    """An Ed25519 public key as a JWK (RFC 8037) for a JWKS file."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "kid": key_id, "alg": "EdDSA", "use": "sig",
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def add_to_jwks(jwks_file: str | Path, directory: str | Path) -> list[str]:
    """Put every public key of ``directory`` (``public/<id>.pub``) into the JWKS file
    (made if absent; other keys, the identity provider's, stay); return their ids."""
    path = Path(jwks_file)
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() and \
        path.read_text(encoding="utf-8").strip() else {"keys": []}
    ring = KeyRing.from_dir(public_dir(directory))
    added = sorted(ring.keys)
    keys = [k for k in data.get("keys", []) if k.get("kid") not in ring.keys]
    keys += [public_jwk(key_id, ring.keys[key_id]) for key_id in added]
    path.write_text(json.dumps({**data, "keys": keys}, indent=2) + "\n", encoding="utf-8")
    return added


# -- making keys ---------------------------------------------------------------------------
def _numbers(directory: Path, service: str, suffix: str) -> list[int]:
    found = []
    for path in directory.glob(f"{service}-*{suffix}"):
        match = KEY_ID.match(path.name.removesuffix(suffix))
        if match and match["service"] == service:
            found.append(int(match["n"]))
    return sorted(found)


def _newest(directory: Path, service: str, suffix: str) -> Path | None:
    numbers = _numbers(directory, service, suffix)
    return directory / f"{service}-{numbers[-1]}{suffix}" if numbers else None


def write_key(directory: str | Path, key_id: str) -> SigningKey:
    """Generate a key pair named ``key_id`` (private file mode 0600)."""
    private_dir(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    public_dir(directory).mkdir(parents=True, exist_ok=True)
    key = SigningKey(key_id, Ed25519PrivateKey.generate())
    private = private_dir(directory) / f"{key_id}.key"
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_pem())
    (public_dir(directory) / f"{key_id}.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def ensure(directory: str | Path, services: Iterable[str]) -> list[str]:
    """Give each service a key pair unless it has one; return the key ids made."""
    made = []
    for service in services:
        if not _numbers(private_dir(directory), service, ".key"):
            made.append(write_key(directory, f"{service}-1").key_id)
    return made


def rotate(directory: str | Path, service: str) -> str:
    """A new key pair for ``service``, numbered after its newest; older ones stay."""
    numbers = _numbers(public_dir(directory), service, ".pub")
    return write_key(directory, f"{service}-{(numbers[-1] if numbers else 0) + 1}").key_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.keys",
                                     description="event signing keys (Ed25519)")
    sub = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = sub.add_parser("ensure", help="create a key pair per service unless it has one")
    ensure_cmd.add_argument("directory")
    ensure_cmd.add_argument("services", nargs="+")
    rotate_cmd = sub.add_parser("rotate", help="create the next key pair of one service")
    rotate_cmd.add_argument("directory")
    rotate_cmd.add_argument("service")
    jwks_cmd = sub.add_parser("jwks", help="add every public key of a directory to a JWKS file")
    jwks_cmd.add_argument("jwks_file")
    jwks_cmd.add_argument("directory")
    args = parser.parse_args(argv)
    if args.command == "jwks":
        added = add_to_jwks(args.jwks_file, args.directory)
        print(f"{args.jwks_file}: " + (f"holds {', '.join(added)}" if added else "no keys added"))
        return 0
    for name in [args.service] if args.command == "rotate" else args.services:
        if not KEY_ID.match(f"{name}-1"):
            parser.error(f"invalid service name {name!r}")
    if args.command == "ensure":
        made = ensure(args.directory, args.services)
        print(f"event keys in {args.directory}: " + (f"made {', '.join(made)}" if made else "all present"))
    else:
        print(f"new key {rotate(args.directory, args.service)} in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
