"""The client of a Gatehouse issuer's revocation feed, for APIs that verify tokens offline.

``GET {issuer}/oauth2/revocations?cursor=...`` (HTTP Basic with any app client of the customer)
returns revoked ``jti`` values with their ``exp``, and per-client entries: a cut-off time
(``revoked_before``; every token issued before it is revoked) and a status (``active``,
``disabled`` or ``deleted``: every token of such a client is refused). This client polls it in
the background (every 5 s by default) and answers :meth:`is_revoked` from memory, so it plugs
into :class:`~gatehouse.verify.TokenVerifier` as its ``is_revoked`` hook::

    feed = RevocationFeedClient(issuer, client_id, client_secret).start()
    verifier = TokenVerifier(issuer, audience, is_revoked=feed)
    ...
    feed.stop()

In async code, ``await feed.astart()`` / ``await feed.astop()`` run it as an asyncio task.
Needs only the standard library and ``httpx``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import struct
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

import httpx

from gatehouse.verify.jws import b64url_decode

__all__ = ["RevocationFeedClient", "issued_at"]

log = logging.getLogger("gatehouse.verify")

_EXPIRED_GRACE = 60.0  # keep a revoked jti this long past its exp (verifier leeway)
_MAX_PAGES = 100  # pages fetched in one poll before waiting for the next


def issued_at(claims: Mapping[str, Any]) -> float:
    """The issue time of a Gatehouse token to the microsecond (from its ``jti``), else ``iat``."""
    jti = claims.get("jti")
    if isinstance(jti, str):
        try:
            raw = b64url_decode(jti)
        except ValueError:
            raw = b""
        if len(raw) == 18:
            return float(struct.unpack(">Q", raw[:8])[0]) / 1_000_000
    iat = claims.get("iat")
    return float(iat) if isinstance(iat, int | float) else 0.0


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1: the id and the secret are form-urlencoded before base64 encoding.
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class RevocationFeedClient:
    """Keeps a local copy of an issuer's revocations; implements ``RevocationFeed``."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        interval: float = 5.0,
        feed_url: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.issuer = issuer.rstrip("/")
        self.feed_url = feed_url or f"{self.issuer}/oauth2/revocations"
        self.interval = interval
        self.timeout = timeout
        self._authorization = _basic(client_id, client_secret)
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._clock = clock
        self.cursor: str | None = None
        self.last_success: float | None = None  # clock() of the last complete poll
        self._revoked: dict[str, float] = {}
        self._clients: dict[str, tuple[str, float | None]] = {}
        self._apply_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owned_client: httpx.Client | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the RevocationFeed protocol (memory only, called on every verify) ------------------------

    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        if claims.get("jti") in self._revoked:
            return True
        if self._client_revoked(claims.get("client_id"), claims):
            return True
        # RFC 8693: an exchanged token falls with any client of its chain (sub, each act.sub).
        if "act" in claims or claims.get("sub") != claims.get("client_id"):
            return any(self._client_revoked(c, claims) for c in _chain(claims))
        return False

    def _client_revoked(self, client_id: object, claims: Mapping[str, Any]) -> bool:
        entry = self._clients.get(client_id) if isinstance(client_id, str) else None
        if entry is None:
            return False
        status, before = entry
        if status != "active":
            return True
        return before is not None and issued_at(claims) < before

    # -- polling ----------------------------------------------------------------------------------

    def _request(self) -> dict[str, Any]:
        """The next page's request (its cursor, the client's credentials)."""
        params = {"cursor": self.cursor} if self.cursor is not None else {}
        return {"params": params, "headers": {"authorization": self._authorization}}

    def _take(self, response: httpx.Response) -> bool:
        """Apply a page answered; True if more pages wait."""
        response.raise_for_status()
        return self._apply(response.json())

    def _apply(self, document: Any) -> bool:
        """Apply one page; True if more pages wait."""
        if not isinstance(document, dict) or not isinstance(document.get("cursor"), str):
            raise ValueError("not a revocation feed page")
        snapshot = self.cursor is None
        now = self._clock()
        with self._apply_lock:
            revoked = {} if snapshot else dict(self._revoked)
            clients = {} if snapshot else dict(self._clients)
            for item in document.get("revoked", []):
                revoked[str(item["jti"])] = float(item["exp"])
            for item in document.get("clients", []):
                status = str(item["status"])
                before = item.get("revoked_before")
                before = float(before) if before is not None else None
                if status == "active" and before is None:
                    clients.pop(str(item["client_id"]), None)
                else:
                    clients[str(item["client_id"])] = (status, before)
            self._revoked = {j: e for j, e in revoked.items() if e + _EXPIRED_GRACE > now}
            self._clients = clients
            self.cursor = document["cursor"]
        return bool(document.get("has_more"))

    def poll(self) -> bool:
        """Fetch what is new now (blocking); False if the issuer could not be reached."""
        client = self._http_client or self._owned_client
        if client is None:
            client = self._owned_client = httpx.Client(timeout=self.timeout)
        try:
            for _ in range(_MAX_PAGES):
                if not self._take(client.get(self.feed_url, **self._request())):
                    break
        except Exception as exc:  # unreachable issuer, HTTP error, not a feed page: keep state
            log.warning("revocation feed poll of %s failed: %s", self.feed_url, exc)
            return False
        self.last_success = self._clock()
        return True

    async def apoll(self) -> bool:
        """Async twin of :meth:`poll` (uses ``httpx.AsyncClient``)."""
        owned = self._async_http_client is None
        client = self._async_http_client or httpx.AsyncClient(timeout=self.timeout)
        try:
            for _ in range(_MAX_PAGES):
                if not self._take(await client.get(self.feed_url, **self._request())):
                    break
        except Exception as exc:  # unreachable issuer, HTTP error, not a feed page: keep state
            log.warning("revocation feed poll of %s failed: %s", self.feed_url, exc)
            return False
        finally:
            if owned:
                await client.aclose()
        self.last_success = self._clock()
        return True

    # -- background -------------------------------------------------------------------------------

    def start(self) -> RevocationFeedClient:
        """Poll once now, then every ``interval`` seconds in a daemon thread."""
        self.poll()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gatehouse-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None
        if self._owned_client is not None:
            self._owned_client.close()
            self._owned_client = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    async def astart(self) -> RevocationFeedClient:
        """Poll once now, then every ``interval`` seconds in an asyncio task."""
        await self.apoll()
        self._task = asyncio.create_task(self._arun(), name="gatehouse-feed")
        return self

    async def astop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _arun(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.apoll()

    def __enter__(self) -> RevocationFeedClient:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> RevocationFeedClient:
        return await self.astart()

    async def __aexit__(self, *_exc: object) -> None:
        await self.astop()


def _chain(claims: Mapping[str, Any]) -> list[object]:
    """The ``sub`` and every nested ``act.sub`` of a token (at most 10 hops)."""
    found: list[object] = [claims.get("sub")]
    current = claims.get("act")
    for _ in range(10):
        if not isinstance(current, dict):
            break
        found.append(current.get("sub"))
        current = current.get("act")
    return found
