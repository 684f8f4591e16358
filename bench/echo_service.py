"""The baseline: a bare nameko RPC service that returns its argument."""
from typing import Any

from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value: Any) -> Any:
        return value
