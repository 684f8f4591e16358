"""The users file (``GATEWAY_USERS_FILE``): people who sign in with a password.

JSON ``{"users": [{"username", "password_hash", "sub", "name", "department", "roles"}]}``;
``password_hash`` is an argon2 hash (argon2-cffi). Re-read when the file changes.

    python -m gateway.users hash            # prints the hash of a password read from stdin
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

HASHER = PasswordHasher()
# Verified when the username is unknown, so that both cases take the same time.
_DUMMY_HASH = HASHER.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    sub: str
    name: str
    department: str | None
    roles: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        return cls(username=str(data["username"]), password_hash=str(data["password_hash"]),
                   sub=str(data.get("sub") or data["username"]),
                   name=str(data.get("name") or data["username"]),
                   department=data.get("department"), roles=tuple(data.get("roles") or ()))

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "password_hash": self.password_hash,
                "sub": self.sub, "name": self.name, "department": self.department,
                "roles": list(self.roles)}


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class UsersFile:
    """The accounts, cached until the file's modification time changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}

    def _load(self) -> dict[str, User]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._users = None, {}
            return self._users
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._users = {u.username: u for u in map(User.from_dict, data.get("users", []))}
            self._stamp = stamp
        return self._users

    def get(self, username: str) -> User | None:
        return self._load().get(username)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches. Hashing runs in a real thread: argon2
        takes tens of milliseconds of CPU that would stall every other request."""
        user = self.get(username)
        ok = tpool.execute(_verify, user.password_hash if user else _DUMMY_HASH, password)
        return user if ok and user is not None else None


def write_users(path: str | Path, users: list[User]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps({"users": [u.to_dict() for u in users]}, ensure_ascii=False,
                              indent=2), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(target)


def main(argv: list[str]) -> int:
    if argv[:1] != ["hash"]:
        print(__doc__)
        return 2
    print(hash_password(sys.stdin.readline().rstrip("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
