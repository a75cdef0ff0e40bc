"""The one error root of the server, :class:`GatehouseError`, and its three shapes:

- :class:`OAuthError`: the RFC 6749 §5.2 body ``{"error", "error_description"}`` of the token,
  revocation, introspection, registration and revocation feed endpoints, one class per code;
- :class:`BearerError`: the RFC 6750 §3 error of a bearer-protected resource (the same body, a
  ``Bearer`` challenge naming the error);
- :class:`ApiError`: the v2 API's ``{"messages": [...], "request_id": ...}`` body
  (:class:`InvalidInput`, a 400 with ``field_errors``, is one).

Every error knows its own status, headers and body, so one exception handler on the root
renders every subclass for its surface (docs/architecture.md). ``gatehouse.verify`` keeps its
own errors: it is a library for other programs and imports nothing of the server.
"""

from __future__ import annotations

import re
import secrets
from abc import ABCMeta, abstractmethod
from typing import ClassVar

import orjson

# RFC 6749 §5.2: error_description must not include characters outside %x20-21 / %x23-5B /
# %x5D-7E (no quote, no backslash, no control or non-ASCII character).
_NOT_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
# What a description may quote from a request: a short text of plain characters; anything else
# is described, never echoed.
_QUOTABLE = re.compile(r"[A-Za-z0-9._:/ -]{1,80}")


def quoted(value: str, instead: str) -> str:
    """``value`` if it may appear in an error description as it is, else ``instead``."""
    return value if _QUOTABLE.fullmatch(value) else instead


# RFC 6749 §5.1, RFC 7009 §2.2, RFC 7662 §2.2, RFC 7591 §3.2.1: responses carrying tokens,
# token information or errors are never cached. The one definition of the pair.
NO_STORE: tuple[tuple[str, str], ...] = (("cache-control", "no-store"), ("pragma", "no-cache"))
JSON = ("content-type", "application/json")


class GatehouseError(Exception, metaclass=ABCMeta):
    """The root of every error the server renders: a status, headers and a JSON body (each
    shape below renders its own)."""

    status_code: int = 400

    def headers(self) -> list[tuple[str, str]]:
        """The response headers besides the content type; an error is never cached."""
        return list(NO_STORE)

    @abstractmethod
    def body(self) -> bytes: ...

    @property
    def description(self) -> str:
        """What the client is told (the first message of the body)."""
        return str(self)


class OAuthError(GatehouseError):
    """An error of the authorization server's endpoints (RFC 6749 §5.2)."""

    error: ClassVar[str] = "invalid_request"
    status_code = 400

    def __init__(self, description: str, *, log_detail: str = "") -> None:
        super().__init__(description)
        self._description = _NOT_DESCRIPTION.sub("?", description)
        # Detail for the server log only, never sent to the client.
        self.log_detail = log_detail

    @property
    def description(self) -> str:
        return self._description

    def body(self) -> bytes:
        return orjson.dumps({"error": self.error, "error_description": self.description})


class BearerError(OAuthError):
    """RFC 6750 §3.1: a missing or bad bearer token at a bearer-protected resource."""

    error = "invalid_token"
    status_code = 401

    def headers(self) -> list[tuple[str, str]]:
        # RFC 6750 §3: a 401 for a bearer-protected resource carries WWW-Authenticate.
        return [
            *super().headers(),
            ("www-authenticate", f'Bearer realm="gatehouse", error="{self.error}"'),
        ]


class NotFound(OAuthError):
    """The one 404 of the authorization server's endpoints: no such customer (issuer)."""

    error = "not_found"
    status_code = 404


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status_code = 401

    def headers(self) -> list[tuple[str, str]]:
        # RFC 6749 §5.2: a 401 for invalid_client must carry WWW-Authenticate.
        return [*super().headers(), ("www-authenticate", 'Basic realm="gatehouse"')]


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the requested resource or audience is not acceptable."""

    error = "invalid_target"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1."""

    error = "unsupported_token_type"


class RequestTooLarge(OAuthError):
    error = "invalid_request"
    status_code = 413


class MethodNotAllowed(OAuthError):
    error = "invalid_request"
    status_code = 405

    def __init__(self, description: str, *, allow: str = "POST") -> None:
        super().__init__(description)
        self.allow = allow

    def headers(self) -> list[tuple[str, str]]:
        # RFC 9110 §15.5.6: a 405 lists the methods the target resource supports.
        return [*super().headers(), ("allow", self.allow)]


class RetryLater(OAuthError):
    """A refusal that ends: ``Retry-After`` (RFC 9110 §10.2.3) says when to ask again."""

    def __init__(self, description: str, *, retry_after: int = 1) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)

    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers(), ("retry-after", str(self.retry_after))]


class TooManyRequests(RetryLater):
    """Brute-force protection or a quota tripped (RFC 6749 §2.3.1 asks servers to guard against
    brute force). RFC 6749 §5.2 has no rate-limit code and ``slow_down`` belongs to the device
    flow (RFC 8628 §3.5), so the body is ``invalid_request``; the status (429, RFC 6585 §4) and
    ``Retry-After`` say what happened."""

    error = "invalid_request"
    status_code = 429

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description, retry_after=retry_after)


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(RetryLater):
    """The store cannot be reached and the answer is not in memory (RFC 6749 §4.1.2.1 names the
    code; a 503 with Retry-After, RFC 9110 §15.6.4, rather than a 500)."""

    error = "temporarily_unavailable"
    status_code = 503


class ApiError(GatehouseError):
    """An error of the v2 API, rendered as ``{"messages": [...], "request_id": ...}``, with
    ``field_errors`` on a 400 and ``id`` on a 404."""

    def __init__(
        self,
        status_code: int,
        *messages: str,
        field_errors: dict[str, str] | None = None,
        resource_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(messages[0] if messages else str(status_code))
        self.status_code = status_code
        self.messages = list(messages)
        self.field_errors = field_errors
        self.resource_id = resource_id
        self.extra_headers = headers or {}

    def headers(self) -> list[tuple[str, str]]:
        return [*NO_STORE, *self.extra_headers.items()]

    def document(self, request_id: str) -> dict[str, object]:
        body: dict[str, object] = {"messages": self.messages, "request_id": request_id}
        if self.status_code == 400:
            body["field_errors"] = self.field_errors or {}
        if self.status_code == 404:
            body["id"] = self.resource_id or ""
        return body

    def body(self) -> bytes:
        return orjson.dumps(self.document(secrets.token_hex(8)))


class InvalidInput(ApiError, ValueError):
    """Input that breaks a documented rule; ``field_errors`` maps each field to what is wrong.
    The services raise it; the v2 API renders it as its 400."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__(400, "The request is invalid", field_errors=field_errors)
        self.field_errors: dict[str, str] = field_errors
        self.args = ("; ".join(f"{k}: {v}" for k, v in field_errors.items()),)


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5: the DPoP proof is missing where required, malformed or invalid."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """RFC 9449 §8: the server requires a nonce in the proof; the one to use is in DPoP-Nonce."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce

    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers(), ("dpop-nonce", self.nonce)]
