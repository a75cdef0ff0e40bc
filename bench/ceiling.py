"""The ceiling of a Python token endpoint on this machine: a bare asyncio + httptools server
that answers every request with a freshly signed ES256 JWT and nothing else (no parsing of the
body, no client check, no audit). Gatehouse cannot beat this; bench/README.md compares to it.

Run: taskset -c 0 .venv/bin/python bench/ceiling.py [--port 8890] [--no-sign]
then drive it like the token endpoint:
  taskset -c 1 wrk -t2 -c64 -d10s -s bench/wrk-client-credentials.lua http://127.0.0.1:8890/
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import cast

import httptools
import orjson
import uvloop

from gatehouse.oauth.keys import Signer, generate_private_key
from gatehouse.oauth.tokens import new_jti


class Protocol(asyncio.Protocol):
    def __init__(self, signer: Signer | None) -> None:
        self.signer = signer
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_complete(self) -> None:
        now = int(time.time())
        token = "x"
        if self.signer is not None:
            token = self.signer.sign_jwt(
                {
                    "iss": "http://127.0.0.1/customers/demo",
                    "sub": "c",
                    "iat": now,
                    "exp": now + 1800,
                    "jti": new_jti(),
                }
            )
        body = orjson.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 1800})
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )


async def serve(port: int, sign: bool) -> None:
    signer = Signer(kid="k", alg="ES256", key=generate_private_key("ES256")) if sign else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Protocol(signer), "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8890)
    parser.add_argument("--no-sign", action="store_true")
    args = parser.parse_args()
    uvloop.run(serve(args.port, not args.no_sign))


if __name__ == "__main__":
    main()
