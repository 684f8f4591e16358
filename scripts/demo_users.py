"""The demo accounts of the HTTP gateway: written by scripts/demo.py only.

    .venv/bin/python scripts/demo_users.py      # (re)write them and print them

Writes ``GATEWAY_USERS_FILE`` (default ``var/gateway-users.json``) with the users
admin, finance, manager (sales_manager), sales and auditor, password ``demo``, argon2
hashes. A users file that is not a demo file (no ``"demo": true``) is left alone.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "gateway")]
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from gateway.users import User, hash_password  # noqa: E402

PASSWORD = "demo"
ACCOUNTS = [  # username, sub, name, department, roles
    ("admin", "demo-admin", "管理员 李静", "dept-finance", ["admin"]),
    ("finance", "demo-finance", "财务 王芳", "dept-finance", ["finance"]),
    ("manager", "demo-manager", "销售经理 陈刚", "dept-sales", ["sales_manager"]),
    ("sales", "demo-sales", "销售 赵磊", "dept-sales", ["sales"]),
    ("auditor", "demo-auditor", "审计 孙悦", "dept-audit", ["auditor"]),
]


def users_file() -> Path:
    path = Path(os.environ.get("GATEWAY_USERS_FILE") or "var/gateway-users.json")
    return path if path.is_absolute() else ROOT / path


def write_demo_users(path: Path | None = None) -> Path | None:
    """Write the demo accounts; None when an operator's (non-demo) file is in the way."""
    target = path or users_file()
    if target.exists():
        try:
            if not json.loads(target.read_text(encoding="utf-8")).get("demo"):
                return None
        except ValueError:
            return None
    users = [User(username=u, password_hash=hash_password(PASSWORD), sub=sub, name=name, department=dept,
                  roles=tuple(roles)).to_dict() for u, sub, name, dept, roles in ACCOUNTS]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"demo": True, "users": users}, ensure_ascii=False, indent=2),
                   encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(target)
    return target


def report(path: Path | None) -> None:
    host = os.environ.get("GATEWAY_HOST") or "127.0.0.1"
    port = os.environ.get("GATEWAY_PORT") or "8000"
    if path is None:
        print(f"==> gateway users file {users_file()} is not a demo file: demo accounts not added")
        return
    print(f"==> HTTP gateway http://{host}:{port}/  (API docs /api/docs, sign in at /login)")
    print(f"    demo accounts (password '{PASSWORD}', users file {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}):")
    for username, _sub, name, _dept, roles in ACCOUNTS:
        print(f"      {username:<8} {', '.join(roles):<14} {name}")


if __name__ == "__main__":
    report(write_demo_users())
