"""Public keys fetched over HTTP: a client's ``jwks_uri`` and the JWKS of an outside issuer found
through its discovery document (OpenID Connect Discovery 1.0 §4, else RFC 8414 §3).

Fetched asynchronously (never blocking the event loop), bounded: https only (http with
``GATEHOUSE_ALLOW_INSECURE_URLS``), 5 s timeout, 64 KiB cap, no redirects, a few fetches at a
time and one per URL at once. A key set is cached at most 10 minutes and refetched for an
unknown ``kid`` at most once a minute; while a refetch fails, the cached keys keep serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from gatehouse.oauth.assertions import SIGNING_ALGS
from gatehouse.verify.jws import PinnedKey, load_jwks

log = logging.getLogger("gatehouse.secretless")

MAX_BYTES = 64 * 1024
TIMEOUT = 5.0
MAX_AGE = 600.0
REFETCH_INTERVAL = 60.0
MAX_ENTRIES = 10_000


class FetchFailed(Exception):
    """Keys could not be fetched (the reason is for the log)."""


@dataclass(slots=True)
class _Entry:
    value: Any
    fetched_at: float


class KeyFetcher:
    def __init__(
        self,
        *,
        allow_insecure: bool,
        concurrency: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_insecure = allow_insecure
        self._clock = clock
        self._jwks: dict[str, _Entry] = {}
        self._discovery: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self.fetches = 0

    async def jwks(self, url: str, *, kid: str | None = None) -> dict[str, PinnedKey]:
        """The keys at ``url``, cached; refetched when stale, or for an unknown ``kid`` once the
        last fetch is a minute old."""
        entry = self._jwks.get(url)
        if entry is not None and not self._needs_fetch(entry, kid):
            keys: dict[str, PinnedKey] = entry.value
            return keys
        async with self._lock(url):
            entry = self._jwks.get(url)  # another request may have fetched meanwhile
            if entry is not None and not self._needs_fetch(entry, kid):
                return dict(entry.value)
            try:
                keys = load_jwks(await self._get_json(url), SIGNING_ALGS)
            except (FetchFailed, ValueError) as exc:
                if entry is None:
                    raise FetchFailed(f"JWKS {url}: {exc}") from None
                log.warning("JWKS refetch of %s failed (%s); keeping the cached keys", url, exc)
                entry.fetched_at = self._clock() - MAX_AGE + REFETCH_INTERVAL
                return dict(entry.value)
            self._store(self._jwks, url, keys)
            return keys

    async def issuer_jwks(self, issuer: str, *, kid: str | None = None) -> dict[str, PinnedKey]:
        """The keys of an outside issuer, through its discovery document."""
        return await self.jwks(await self.jwks_uri_of(issuer), kid=kid)

    async def jwks_uri_of(self, issuer: str) -> str:
        entry = self._discovery.get(issuer)
        if entry is not None and self._clock() - entry.fetched_at < MAX_AGE:
            uri: str = entry.value
            return uri
        async with self._lock("discovery " + issuer):
            entry = self._discovery.get(issuer)
            if entry is not None and self._clock() - entry.fetched_at < MAX_AGE:
                return str(entry.value)
            try:
                uri = await self._discover(issuer)
            except FetchFailed:
                if entry is None:
                    raise
                return str(entry.value)
            self._store(self._discovery, issuer, uri)
            return uri

    async def _discover(self, issuer: str) -> str:
        base = issuer.rstrip("/")
        parts = urlsplit(issuer)
        # OpenID Connect Discovery 1.0 §4.1, then RFC 8414 §3.1 (suffix before the path).
        candidates = [
            f"{base}/.well-known/openid-configuration",
            f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server"
            f"{parts.path.rstrip('/')}",
        ]
        reasons: list[str] = []
        for url in candidates:
            try:
                document = await self._get_json(url)
            except FetchFailed as exc:
                reasons.append(str(exc))
                continue
            # OpenID Connect Discovery 1.0 §4.3: the issuer value must equal the issuer URL.
            if not isinstance(document, dict) or document.get("issuer") != issuer:
                reasons.append(f"{url}: issuer in the document is not {issuer}")
                continue
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not self._allowed(jwks_uri):
                reasons.append(f"{url}: no usable jwks_uri")
                continue
            return jwks_uri
        raise FetchFailed(f"discovery of {issuer} failed: {'; '.join(reasons)}")

    def _needs_fetch(self, entry: _Entry, kid: str | None) -> bool:
        age = self._clock() - entry.fetched_at
        if age >= MAX_AGE:
            return True
        return kid is not None and kid not in entry.value and age >= REFETCH_INTERVAL

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > MAX_ENTRIES:
                self._locks.clear()
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _store(self, table: dict[str, _Entry], key: str, value: Any) -> None:
        if len(table) >= MAX_ENTRIES and key not in table:
            table.pop(next(iter(table)))
        table[key] = _Entry(value, self._clock())

    def _allowed(self, url: str) -> bool:
        scheme = urlsplit(url).scheme
        return scheme == "https" or (self.allow_insecure and scheme == "http")

    async def _get_json(self, url: str) -> Any:
        if not self._allowed(url):
            raise FetchFailed(f"{url}: only https URLs are fetched")
        async with self._slots:
            self.fetches += 1
            try:
                async with (
                    httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client,
                    client.stream("GET", url, headers={"accept": "application/json"}) as response,
                ):
                    if response.status_code != 200:
                        raise FetchFailed(f"{url}: HTTP {response.status_code}")
                    body = b""
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_BYTES:
                            raise FetchFailed(f"{url}: larger than {MAX_BYTES} bytes")
            except httpx.HTTPError as exc:
                raise FetchFailed(f"{url}: {exc.__class__.__name__}") from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchFailed(f"{url}: not JSON") from None
