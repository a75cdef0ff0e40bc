"""Client credentials auth for ``httpx`` and ``requests`` (RFC 6749 §4.4, RFC 6750 §2.1).

:class:`ClientCredentials` is an ``httpx.Auth`` (sync and async) that fetches an access token
from the token endpoint, caches it, renews it ``renew_before`` seconds before it expires and
retries a request once with a fresh token when the API answers 401. Only one token request is in
flight at a time (a ``threading.Lock`` for sync callers, an ``asyncio.Lock`` per event loop for
async ones). With ``dpop_key=`` (a private key) every token request and API call carries a DPoP
proof (RFC 9449) and server nonces are followed; the token is then sent as
``Authorization: DPoP``. ``requests`` is optional: it is imported only when
:class:`RequestsClientCredentials` is first used.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote_plus

import httpx

from gatehouse.dpop_client import DPoPKey, DPoPProver, wants_nonce

if TYPE_CHECKING:
    import requests

__all__ = [
    "AccessToken",
    "ClientCredentials",
    "ExchangedToken",
    "FederatedToken",
    "PrivateKeyJWT",
    "RequestsClientCredentials",
    "TokenRequestError",
]

AuthMethod = Literal["client_secret_basic", "client_secret_post"]
_DEFAULT_LIFETIME = 300.0
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105


class TokenRequestError(Exception):
    """The token endpoint refused or failed (RFC 6749 §5.2 ``error`` and ``error_description``)."""

    def __init__(self, error: str, description: str = "", *, status_code: int | None = None):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A cached token: ``renew_at`` is on the ``time.monotonic`` clock."""

    value: str
    scope: str | None
    expires_in: float
    renew_at: float
    token_type: str = "Bearer"  # noqa: S105 - "Bearer" or "DPoP", not a secret


@dataclass(frozen=True, slots=True)
class ExchangedToken:
    """The answer to an RFC 8693 token exchange."""

    access_token: str
    issued_token_type: str
    scope: str | None
    expires_in: float


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The ``Authorization: Basic`` value for client_secret_basic."""
    # RFC 6749 §2.3.1: id and secret are encoded with application/x-www-form-urlencoded first.
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


class ClientCredentials(httpx.Auth):
    """Fetch, cache and renew client-credentials tokens; an ``httpx.Auth``.

    It is also a plain callable that ``requests`` accepts as ``auth=``; see
    :class:`RequestsClientCredentials` for a true ``requests.auth.AuthBase`` subclass.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | Iterable[str] | None = None,
        audience: str | None = None,
        resource: str | None = None,
        auth_method: AuthMethod = "client_secret_basic",
        renew_before: float = 60,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        dpop_key: DPoPKey | None = None,
    ) -> None:
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError(f"unsupported auth_method {auth_method!r}")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope if scope is None or isinstance(scope, str) else " ".join(scope)
        self.audience = audience
        self.resource = resource
        self.auth_method = auth_method
        self.renew_before = renew_before
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._timeout = timeout
        self._monotonic = monotonic
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.token_requests = 0
        self.dpop = DPoPProver(dpop_key) if dpop_key is not None else None

    def __repr__(self) -> str:
        # Never show the secret or the token.
        return f"{type(self).__name__}({self.token_url!r}, client_id={self.client_id!r})"

    # -- token cache -------------------------------------------------------------------------

    def _fresh(self, rejected: str | None) -> AccessToken | None:
        token = self._token
        if token is None or token.value == rejected or self._monotonic() >= token.renew_at:
            return None
        return token

    def get_token(self, *, rejected: str | None = None) -> str:
        """A valid access token, fetched only if the cached one is due for renewal or is
        ``rejected`` (the value an API just answered 401 to)."""
        token = self._fresh(rejected)
        if token is None:
            with self._lock:
                # Double-checked: another thread may have renewed while we waited.
                token = self._fresh(rejected)
                if token is None:
                    token = self._store(self._request_sync())
        return token.value

    async def aget_token(self, *, rejected: str | None = None) -> str:
        """Async twin of :meth:`get_token`."""
        token = self._fresh(rejected)
        if token is None:
            async with self._async_lock():
                token = self._fresh(rejected)
                if token is None:
                    token = self._store(await self._request_async())
        return token.value

    def invalidate(self) -> None:
        """Drop the cached token; the next request fetches a new one."""
        self._token = None

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._lock:
            lock = self._async_locks.get(loop)
            if lock is None:
                lock = self._async_locks[loop] = asyncio.Lock()
            return lock

    # -- token request -----------------------------------------------------------------------

    def _token_request(self) -> tuple[dict[str, str], dict[str, str]]:
        # RFC 6749 §4.4.2: grant_type=client_credentials, optional scope.
        form = {"grant_type": "client_credentials"}
        if self.scope is not None:
            form["scope"] = self.scope
        if self.audience is not None:
            form["audience"] = self.audience
        if self.resource is not None:
            form["resource"] = self.resource  # RFC 8707 §2
        headers = {"Accept": "application/json"}
        # RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request.
        if self.auth_method == "client_secret_basic":
            headers["Authorization"] = basic_credentials(self.client_id, self._client_secret)
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._client_secret
        return form, headers

    def _post_token(self, client: httpx.Client) -> httpx.Response:
        form, headers = self._token_request()
        for _ in range(2):
            if self.dpop is not None:
                headers["DPoP"] = self.dpop.proof("POST", self.token_url)
            response = client.post(self.token_url, data=form, headers=headers)
            if not self._retry_with_nonce(response):
                break
        return response

    async def _apost_token(self, client: httpx.AsyncClient) -> httpx.Response:
        form, headers = self._token_request()
        for _ in range(2):
            if self.dpop is not None:
                headers["DPoP"] = self.dpop.proof("POST", self.token_url)
            response = await client.post(self.token_url, data=form, headers=headers)
            if not self._retry_with_nonce(response):
                break
        return response

    def _retry_with_nonce(self, response: httpx.Response) -> bool:
        """Keep a server nonce; True when the answer asks for the request again with it."""
        if self.dpop is None:
            return False
        self.dpop.remember_nonce(str(response.url), response.headers)
        if response.status_code != 400:
            return False
        try:
            body: Any = response.json()
        except ValueError:
            return False
        return wants_nonce(response.status_code, response.headers, body)

    def _request_sync(self) -> tuple[float, httpx.Response]:
        started = self._monotonic()
        self.token_requests += 1
        if self._http_client is not None:
            return started, self._post_token(self._http_client)
        with httpx.Client(timeout=self._timeout) as client:
            return started, self._post_token(client)

    async def _request_async(self) -> tuple[float, httpx.Response]:
        started = self._monotonic()
        self.token_requests += 1
        if self._async_http_client is not None:
            return started, await self._apost_token(self._async_http_client)
        async with httpx.AsyncClient(timeout=self._timeout) as new_client:
            return started, await self._apost_token(new_client)

    def _store(self, result: tuple[float, httpx.Response]) -> AccessToken:
        started, response = result
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            # RFC 6749 §5.2: error responses carry "error" and optional "error_description".
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            raise TokenRequestError(
                str(error or "server_error"),
                str(description or f"token endpoint answered HTTP {response.status_code}"),
                status_code=response.status_code,
            )
        value, token_type = body.get("access_token"), body.get("token_type")
        # RFC 6749 §5.1: access_token and token_type are REQUIRED; token_type is case-insensitive.
        if not isinstance(value, str) or not isinstance(token_type, str):
            raise TokenRequestError("invalid_response", "no access_token/token_type in response")
        # RFC 9449 §5: with a proof, the token may come back DPoP-bound.
        if token_type.lower() not in (("bearer", "dpop") if self.dpop else ("bearer",)):
            raise TokenRequestError("invalid_response", f"unsupported token_type {token_type!r}")
        expires_in = body.get("expires_in")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = _DEFAULT_LIFETIME
        lifetime = max(float(expires_in), 0.0)
        # Renew renew_before seconds early, but never earlier than half-way for short tokens.
        margin = min(self.renew_before, lifetime / 2)
        scope = body.get("scope")
        token = AccessToken(
            value=value,
            scope=scope if isinstance(scope, str) else None,
            expires_in=lifetime,
            renew_at=started + lifetime - margin,
            token_type="DPoP" if token_type.lower() == "dpop" else "Bearer",
        )
        self._token = token
        return token

    # -- RFC 8693 token exchange -----------------------------------------------------------

    def _exchange_request(
        self, subject_token: str, resource: str | None, audience: str | None, scope: str | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        form, headers = self._token_request()
        # RFC 8693 §2.1: the grant type, the subject token and its type; the target and scope
        # are this call's (not the ones this object asks for itself).
        for name in ("scope", "audience", "resource"):
            form.pop(name, None)
        form["grant_type"] = TOKEN_EXCHANGE
        form["subject_token"] = subject_token
        form["subject_token_type"] = ACCESS_TOKEN_TYPE
        for name, value in (("resource", resource), ("audience", audience), ("scope", scope)):
            if value is not None:
                form[name] = value
        return form, headers

    def exchange(
        self,
        subject_token: str,
        *,
        resource: str | None = None,
        audience: str | None = None,
        scope: str | None = None,
    ) -> ExchangedToken:
        """Exchange ``subject_token`` (a token this client received) for a token of this
        client acting on its behalf, for ``resource`` (default: the subject token's API)."""
        form, headers = self._exchange_request(subject_token, resource, audience, scope)
        if self._http_client is not None:
            response = self._http_client.post(self.token_url, data=form, headers=headers)
        else:
            with httpx.Client(timeout=self._timeout) as client:
                response = client.post(self.token_url, data=form, headers=headers)
        return _exchanged(response)

    async def aexchange(
        self,
        subject_token: str,
        *,
        resource: str | None = None,
        audience: str | None = None,
        scope: str | None = None,
    ) -> ExchangedToken:
        """:meth:`exchange` for asyncio."""
        form, headers = self._exchange_request(subject_token, resource, audience, scope)
        if self._async_http_client is not None:
            client = self._async_http_client
            response = await client.post(self.token_url, data=form, headers=headers)
        else:
            async with httpx.AsyncClient(timeout=self._timeout) as new_client:
                response = await new_client.post(self.token_url, data=form, headers=headers)
        return _exchanged(response)

    # -- httpx.Auth --------------------------------------------------------------------------

    def _authorize(self, headers: Any, method: str, url: str, token: str) -> None:
        """RFC 6750 §2.1 ``Bearer <token>``, or RFC 9449 §7.1 ``DPoP <token>`` with a proof."""
        cached = self._token
        bound = cached is not None and cached.value == token and cached.token_type != "Bearer"  # noqa: S105
        if self.dpop is not None and bound:
            headers["Authorization"] = f"DPoP {token}"
            headers["DPoP"] = self.dpop.proof(method, url, access_token=token)
        else:
            headers["Authorization"] = f"Bearer {token}"

    def _nonce_asked(self, url: str, status: int, headers: Any) -> bool:
        if self.dpop is None:
            return False
        self.dpop.remember_nonce(url, headers)
        return wants_nonce(status, headers, None)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self.get_token()
        url = str(request.url)
        self._authorize(request.headers, request.method, url, token)
        response = yield request
        if response.status_code == 401:
            if not self._nonce_asked(url, 401, response.headers):
                # One retry with a fresh token: the cached one may have been revoked or rotated.
                token = self.get_token(rejected=token)
            self._authorize(request.headers, request.method, url, token)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.aget_token()
        url = str(request.url)
        self._authorize(request.headers, request.method, url, token)
        response = yield request
        if response.status_code == 401:
            if not self._nonce_asked(url, 401, response.headers):
                token = await self.aget_token(rejected=token)
            self._authorize(request.headers, request.method, url, token)
            yield request

    # -- requests ----------------------------------------------------------------------------

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """``requests`` auth protocol: set the header and retry once on 401."""
        token = self.get_token()
        self._authorize(request.headers, request.method or "GET", request.url or "", token)
        request.hooks["response"].append(self._requests_retry_hook(token))
        return request

    def _requests_retry_hook(self, token: str) -> Callable[..., requests.Response]:
        def retry(response: requests.Response, **kwargs: Any) -> requests.Response:
            if response.status_code != 401:
                return response
            # Same technique as requests' HTTPDigestAuth: consume, then resend on the adapter.
            response.content  # noqa: B018
            response.close()
            again = response.request.copy()
            fresh = self.get_token(rejected=token)
            self._authorize(again.headers, again.method or "GET", again.url or "", fresh)
            again.hooks["response"] = []
            retried: requests.Response = response.connection.send(again, **kwargs)
            retried.history.append(response)
            retried.request = again
            return retried

        return retry


if TYPE_CHECKING:
    from requests.auth import AuthBase

    # Secretless variants (docs/secretless.md): the same cache, renewal and retry.
    from gatehouse.client_secretless import FederatedToken, PrivateKeyJWT

    class RequestsClientCredentials(ClientCredentials, AuthBase):
        """:class:`ClientCredentials` as a ``requests.auth.AuthBase`` subclass."""


def _exchanged(response: httpx.Response) -> ExchangedToken:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        raise TokenRequestError(
            str(error or "server_error"),
            str(description or f"token endpoint answered HTTP {response.status_code}"),
            status_code=response.status_code,
        )
    value, issued = body.get("access_token"), body.get("issued_token_type")
    # RFC 8693 §2.2.1: access_token, issued_token_type and token_type are REQUIRED.
    if not isinstance(value, str) or not isinstance(issued, str):
        raise TokenRequestError("invalid_response", "no access_token/issued_token_type")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        expires_in = _DEFAULT_LIFETIME
    scope = body.get("scope")
    return ExchangedToken(
        value, issued, scope if isinstance(scope, str) else None, float(expires_in)
    )


def __getattr__(name: str) -> Any:
    # PEP 562: build RequestsClientCredentials on first use so importing this module never
    # imports requests; the secretless variants live in their own module (no import cycle).
    if name in ("PrivateKeyJWT", "FederatedToken"):
        from gatehouse import client_secretless

        return getattr(client_secretless, name)
    if name == "RequestsClientCredentials":
        from requests.auth import AuthBase

        cls = type(
            "RequestsClientCredentials",
            (ClientCredentials, AuthBase),
            {
                "__doc__": "ClientCredentials as a requests.auth.AuthBase subclass.",
                "__module__": __name__,
            },
        )
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
