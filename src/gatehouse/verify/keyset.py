"""The issuer's key set: RFC 8414 discovery of ``jwks_uri`` and a rate-limited JWKS cache.

RFC 8414 §3 (metadata request) and §3.3 (issuer validation), RFC 7517 §5 (JWK Set). Reads are
lock-free: the key map is replaced whole on each fetch. Fetches are serialised per flavour (a
``threading.Lock`` for the sync path, one ``asyncio.Lock`` per event loop for the async path) and
only callers that actually need new keys wait on them; the rate limit is checked and claimed under
a short state lock, never held across network I/O.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from gatehouse.verify.errors import KeySetUnavailable
from gatehouse.verify.jws import PinnedKey, load_jwks

__all__ = ["JwksSource", "KeySet", "metadata_urls"]

# A local key source: called with None to read the current JWK Set document (bytes, str or a
# parsed object), or with a kid the set lacks (the source may look for it, then answer); None
# when it has no document.
JwksSource = Callable[[str | None], object | None]

log = logging.getLogger("gatehouse.verify")

_MAX_DOCUMENT_BYTES = 1 << 20


def metadata_urls(issuer: str) -> list[str]:
    """Candidate RFC 8414 metadata URLs for ``issuer``, most standard first."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    # RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path.
    inserted = urlunsplit(
        (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")
    )
    base = issuer.rstrip("/")
    appended = [
        f"{base}/.well-known/oauth-authorization-server",
        f"{base}/.well-known/openid-configuration",
    ]
    return [inserted, *[url for url in appended if url != inserted]]


def _json_document(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code} from {response.request.url}")
    if len(response.content) > _MAX_DOCUMENT_BYTES:
        raise ValueError("document too large")
    return response.json()


class KeySet:
    """Cached, pinned verification keys of one issuer.

    The keys are fetched over HTTP (RFC 8414 metadata, then the JWKS), unless a ``source`` is
    given: a local key source (a :data:`JwksSource`), which the set reads instead of fetching,
    with no rate limit and no expiry (the source is the truth). :meth:`sync` installs what the
    source holds now; a source that returns the same object while its keys are unchanged makes
    that an identity check.
    """

    def __init__(
        self,
        issuer: str,
        *,
        algorithms: Iterable[str],
        source: JwksSource | None = None,
        jwks_uri: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        refresh_min_interval: float = 10.0,
        max_age: float = 300.0,
        timeout: float = 10.0,
        on_keys_removed: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.algorithms = frozenset(algorithms)
        self.jwks_uri = jwks_uri
        self.source = source
        self._document: object | None = None  # the source's document installed last
        if source is not None:
            refresh_min_interval, max_age = 0.0, math.inf
        self.refresh_min_interval = refresh_min_interval
        self.max_age = max_age
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._timeout = timeout
        self._on_keys_removed = on_keys_removed
        self._monotonic = monotonic
        self.keys: dict[str, PinnedKey] = {}
        self.loaded = False
        self.fetch_count = 0
        self._last_attempt = float("-inf")
        self._last_success = float("-inf")
        self._state_lock = threading.Lock()
        self._sync_fetch_lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    # -- decisions ---------------------------------------------------------------------------

    def is_stale(self) -> bool:
        """True when the cached set is older than ``max_age`` (or was never loaded)."""
        return self._monotonic() - self._last_success >= self.max_age

    def _claim_fetch(self, kid: str | None) -> bool:
        """Atomically decide whether to fetch now, and if so record the attempt."""
        with self._state_lock:
            if kid is not None and kid in self.keys:
                return False  # another caller's fetch already brought it
            if kid is None and self.loaded and not self.is_stale():
                return False
            now = self._monotonic()
            # Rate limit: at most one fetch per refresh_min_interval, whatever the reason.
            if now - self._last_attempt < self.refresh_min_interval:
                return False
            self._last_attempt = now
            return True

    def load(self, jwks: Any) -> None:
        """Install a JWK Set document as if just fetched (static keys, tests, benchmarks)."""
        keys = load_jwks(jwks, self.algorithms)
        with self._state_lock:
            removed = self.loaded and not self.keys.keys() <= keys.keys()
            self.keys = keys
            self.loaded = True
            self.fetch_count += 1
            self._last_success = self._monotonic()
        if removed and self._on_keys_removed is not None:
            # A key left the set: tokens it signed must not live on in any cache.
            self._on_keys_removed()

    def _check_metadata(self, metadata: Any) -> str:
        if not isinstance(metadata, dict):
            raise ValueError("metadata is not a JSON object")
        # RFC 8414 §3.3: the "issuer" value returned MUST be identical to the issuer identifier.
        if metadata.get("issuer") != self.issuer:
            raise ValueError("metadata issuer does not match the configured issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise ValueError("metadata has no jwks_uri")
        return jwks_uri

    def _fail(self, exc: Exception) -> None:
        log.warning("gatehouse.verify: cannot refresh keys of %s: %s", self.issuer, exc)
        if not self.loaded:
            raise KeySetUnavailable("the issuer's signing keys are unavailable") from exc

    # -- sync --------------------------------------------------------------------------------

    def sync(self, kid: str | None = None) -> None:
        """Install the key source's current document if it is another object than the last
        (``kid``: a key not in the set, which the source may look for); without a source,
        nothing."""
        if self.source is None:
            return
        document = self.source(kid)
        if document is not None and document is not self._document:
            self.load(json.loads(document) if isinstance(document, bytes | str) else document)
            self._document = document

    def refresh(self, kid: str | None = None, *, wait: bool = True) -> None:
        """Fetch the JWKS if ``kid`` is unknown (or the set is stale) and the rate limit allows.

        ``wait=False`` (background staleness refresh) returns at once if another thread is
        already fetching; callers with an unknown ``kid`` wait for that fetch and re-check.
        With a key source: :meth:`sync`, at once.
        """
        if self.source is not None:
            self.sync(kid)
            return
        if not self._sync_fetch_lock.acquire(blocking=wait):
            return
        try:
            if not self._claim_fetch(kid):
                return
            try:
                self._fetch_sync()
            except (httpx.HTTPError, ValueError) as exc:
                self._fail(exc)
        finally:
            self._sync_fetch_lock.release()

    def _fetch_sync(self) -> None:
        client = self._http_client or httpx.Client(timeout=self._timeout)
        try:
            if self.jwks_uri is None:
                self._discover_sync(client)
            assert self.jwks_uri is not None
            self.load(_json_document(client.get(self.jwks_uri)))
        finally:
            if client is not self._http_client:
                client.close()

    def _discover_sync(self, client: httpx.Client) -> None:
        error: Exception = ValueError("no metadata URL answered")
        for url in metadata_urls(self.issuer):
            try:
                metadata = _json_document(client.get(url))
                self.jwks_uri = self._check_metadata(metadata)
                return
            except (httpx.HTTPError, ValueError) as exc:
                error = exc
        raise error

    # -- async -------------------------------------------------------------------------------

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._state_lock:
            lock = self._async_locks.get(loop)
            if lock is None:
                lock = self._async_locks[loop] = asyncio.Lock()
            return lock

    async def arefresh(self, kid: str | None = None, *, wait: bool = True) -> None:
        """Async twin of :meth:`refresh`."""
        if self.source is not None:
            self.sync(kid)
            return
        lock = self._async_lock()
        if not wait and lock.locked():
            return
        async with lock:
            if not self._claim_fetch(kid):
                return
            try:
                await self._fetch_async()
            except (httpx.HTTPError, ValueError) as exc:
                self._fail(exc)

    async def _fetch_async(self) -> None:
        client = self._async_http_client or httpx.AsyncClient(timeout=self._timeout)
        try:
            if self.jwks_uri is None:
                await self._discover_async(client)
            assert self.jwks_uri is not None
            self.load(_json_document(await client.get(self.jwks_uri)))
        finally:
            if client is not self._async_http_client:
                await client.aclose()

    async def _discover_async(self, client: httpx.AsyncClient) -> None:
        error: Exception = ValueError("no metadata URL answered")
        for url in metadata_urls(self.issuer):
            try:
                metadata = _json_document(await client.get(url))
                self.jwks_uri = self._check_metadata(metadata)
                return
            except (httpx.HTTPError, ValueError) as exc:
                error = exc
        raise error
