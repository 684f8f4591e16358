"""The local store: SecantusDB with a bounded transaction lifetime.

``python -m shared.secantus_server [--transaction-lifetime-seconds N] <secantus options>``

A process killed with a transaction open (kill -9) leaves it open on the server, holding
every document it touched, until the server reaps it: after 60 s by default, in
SecantusDB as in MongoDB (``transactionLifetimeLimitSeconds``). Every append takes the
store's position counter, so until then every writer of that store waits. MongoDB is
given ``--setParameter transactionLifetimeLimitSeconds=3`` (docker-compose.yml);
SecantusDB has the same limit but no option for it, so this starts it exactly as
``python -m secantus`` does with the limit set. Transactions here last milliseconds (an
append, one consumer reaction): 3 s only ever ends the ones nobody will commit.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import os
import sys

from secantus import cli

TRANSACTION_LIFETIME_SECONDS = 3.0
LIFETIME_ARGUMENT = "transaction_lifetime_seconds"


def lifetime_from(argv: list[str]) -> tuple[float, list[str]]:
    """The lifetime option (or ``SECANTUS_TRANSACTION_LIFETIME_SECONDS``), and the rest."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--transaction-lifetime-seconds", type=float, default=float(
        os.environ.get("SECANTUS_TRANSACTION_LIFETIME_SECONDS") or TRANSACTION_LIFETIME_SECONDS))
    ours, rest = parser.parse_known_args(argv)
    if ours.transaction_lifetime_seconds <= 0:
        parser.error("--transaction-lifetime-seconds must be positive")
    return ours.transaction_lifetime_seconds, rest


def main(argv: list[str] | None = None) -> int:
    lifetime, rest = lifetime_from(sys.argv[1:] if argv is None else argv)
    server_class = cli.SecantusDBServer
    if LIFETIME_ARGUMENT not in inspect.signature(server_class).parameters:
        # a SecantusDB without the setting: refuse rather than run with 60 s unnoticed
        print(f"secantus_server: this SecantusDB has no {LIFETIME_ARGUMENT}; "
              "pin the version in constraints.txt", file=sys.stderr)
        return 2
    cli.SecantusDBServer = functools.partial(server_class, **{LIFETIME_ARGUMENT: lifetime})
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
