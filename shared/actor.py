"""Who caused a change: a plain value the domain records (``shared.auth`` verifies tokens
into it and re-exports it)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """The verified caller of one call; recorded on every event that call causes."""

    id: str
    name: str = ""
    department: str | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "department": self.department,
                "roles": list(self.roles)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(id=str(data["id"]), name=data.get("name") or "",
                   department=data.get("department"), roles=tuple(data.get("roles") or ()))
