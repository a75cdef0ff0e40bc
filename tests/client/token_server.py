"""A tiny real token endpoint and protected API for the client-library tests."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote_plus

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "app client:ü+&/="
CLIENT_SECRET = "gh_s3cr3t with spaces%+&=:/?"


@dataclass
class TokenServer:
    lifetime: int = 1800
    delay: float = 0.0
    token_requests: int = 0
    api_requests: int = 0
    always_401: bool = False
    valid: set[str] = field(default_factory=set)
    seen_auth: list[str] = field(default_factory=list)
    seen_forms: list[dict[str, list[str]]] = field(default_factory=list)

    def revoke_all(self) -> None:
        self.valid.clear()

    def _client(self, request: Request, form: dict[str, list[str]]) -> tuple[str, str] | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic" or "client_id" in form:
                return None
            user, _, password = base64.b64decode(value).decode().partition(":")
            return unquote_plus(user), unquote_plus(password)
        if "client_id" in form and "client_secret" in form:
            return form["client_id"][0], form["client_secret"][0]
        return None

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        self.seen_auth.append(request.headers.get("authorization", ""))
        self.seen_forms.append(form)
        if self.delay:
            await asyncio.sleep(self.delay)
        if form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if self._client(request, form) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "client authentication failed"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="gatehouse"'},
            )
        token = f"tok-{self.token_requests}-{secrets.token_hex(4)}"
        self.valid.add(token)
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": form.get("scope", ["viewer"])[0],
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def api(self, request: Request) -> Response:
        self.api_requests += 1
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if self.always_401 or scheme.lower() != "bearer" or token not in self.valid:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse({"token": token})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth2/token", self.token, methods=["POST"]),
                Route("/api", self.api, methods=["GET", "POST"]),
            ]
        )


@contextmanager
def run_token_server(server: TokenServer) -> Iterator[str]:
    """Serve ``server`` with uvicorn on a free 127.0.0.1 port in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        server.app(), log_level="warning", lifespan="off", loop="asyncio", http="h11", ws="none"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("token server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()
