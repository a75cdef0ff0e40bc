"""Client authentication at the token endpoint (RFC 6749 §2.3.1): ``client_secret_basic`` and
``client_secret_post``, never both, with constant-time checks and one answer for every failure."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from gatehouse.errors import InvalidClient, InvalidRequest, MethodNotAllowed, RequestTooLarge
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.directory import ClientEntry, Directory
from gatehouse.oauth.params import MAX_BODY, parse_body
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.secrets import SECRET_PREFIX, is_well_formed

FAILED = "client authentication failed"
_DUMMY_HASH = b"\x00" * 32


def parse_basic(authorization: str) -> tuple[str, str]:
    """The (client_id, client_secret) of a ``Basic`` Authorization header value."""
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("the Basic authorization header is not valid base64") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidRequest("the Basic authorization header must hold client_id:client_secret")
    # RFC 6749 §2.3.1: the id and the secret are form-urlencoded before base64 encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def credentials_from(
    authorization: str | None, params: dict[str, str]
) -> tuple[str, str | None, str]:
    """(client_id, secret, method) from the header or the body; refuses both and neither."""
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if authorization is not None:
        if authorization[:6].lower() != "basic ":
            raise InvalidClient(FAILED, log_detail="unsupported authorization scheme")
        # RFC 6749 §2.3: the client must not use more than one authentication method per request.
        if body_secret is not None:
            raise InvalidRequest("use either HTTP Basic or client_secret in the body, not both")
        client_id, secret = parse_basic(authorization)
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("client_id in the body does not match the authorization header")
        return client_id, secret, "client_secret_basic"
    if body_id is None:
        raise InvalidClient(FAILED, log_detail="no client credentials")
    return body_id, body_secret, "client_secret_post"


def authenticate(
    directory: Directory,
    *,
    client_id: str,
    secret: str | None,
    hasher: Callable[[str], bytes],
    customer_id: str | None,
    now: float | None = None,
) -> ClientEntry:
    """The enabled client that ``secret`` proves, or :class:`InvalidClient` with one message."""
    client = directory.find_client(client_id)
    if secret is None:
        raise InvalidClient(FAILED, log_detail="no client secret")
    presented = hasher(secret)
    if client is None:
        # The same work for an unknown client, so timing does not tell which ids exist.
        hmac.compare_digest(presented, _DUMMY_HASH)
        raise InvalidClient(FAILED, log_detail="unknown client_id")
    at = now if now is not None else time.time()
    if not client.enabled or not _matches(client, presented, at):
        client = _recheck(directory, client, secret, presented, at)
    if customer_id is not None and client.customer_id != customer_id:
        raise InvalidClient(FAILED, log_detail="client belongs to another customer")
    return client


def _recheck(
    directory: Directory, client: ClientEntry, secret: str, presented: bytes, now: float
) -> ClientEntry:
    """Memory refused the request; read the client once more before refusing, since another
    process may have just given it this secret or enabled it again (read your writes)."""
    if secret.startswith(SECRET_PREFIX) and not is_well_formed(secret):
        # A gths_ secret that fails its checksum is a typo, not a guess: no read, log only.
        raise InvalidClient(FAILED, log_detail="malformed secret (checksum)")
    fresh = directory.recheck_client(client.client_id, client)
    if fresh is None:
        raise InvalidClient(FAILED, log_detail="unknown client_id")
    if not _matches(fresh, presented, now):
        raise InvalidClient(FAILED, log_detail="wrong secret")
    if not fresh.enabled:
        raise InvalidClient(FAILED, log_detail="client disabled")
    return fresh


def _matches(client: ClientEntry, presented: bytes, now: float) -> bool:

    if hmac.compare_digest(presented, client.secret_hash):
        return True
    previous = client.previous_secret_hash
    expires = client.previous_secret_expires_at
    return (
        previous is not None
        and expires is not None
        and now < expires
        and hmac.compare_digest(presented, previous)
    )


@dataclass
class ClientAuthenticator:
    """The client-authentication step of the token, revocation and introspection endpoints:
    read the POST body, find the credentials, apply brute-force protection, check the secret."""

    directory: Directory
    hasher: Callable[[str], bytes] = field(repr=False)
    guard: BruteForceGuard

    def read(
        self, request: TokenRequest, *, what: str = "this endpoint"
    ) -> tuple[str, str | None, dict[str, str]]:
        """(client_id, secret, body parameters) of a request, or an :class:`OAuthError`."""
        if request.method != "POST":
            raise MethodNotAllowed(f"{what} takes POST")
        if len(request.body) > MAX_BODY:
            raise RequestTooLarge(f"the request body is larger than {MAX_BODY} bytes")
        if request.duplicate_authorization:
            raise InvalidRequest("send one Authorization header")
        # RFC 6749 §4.4.2, RFC 7009 §2.1, RFC 7662 §2.1: a form-encoded POST body.
        params = parse_body(request.body, request.content_type, json_allowed=request.json_allowed)
        client_id, secret, _method = credentials_from(request.authorization, params)
        self.guard.check(request.client_addr, client_id)
        return client_id, secret, params

    def verify(self, request: TokenRequest, client_id: str, secret: str | None) -> ClientEntry:
        """The enabled client the secret proves; a failure counts against the address."""
        try:
            return authenticate(
                self.directory,
                client_id=client_id,
                secret=secret,
                hasher=self.hasher,
                customer_id=request.path_customer,
            )
        except InvalidClient:
            self.guard.record_failure(request.client_addr, client_id)
            raise

    def authenticate(self, request: TokenRequest) -> tuple[ClientEntry, dict[str, str]]:
        """The authenticated client and the body parameters, or an :class:`OAuthError`."""
        client_id, secret, params = self.read(request)
        return self.verify(request, client_id, secret), params

    def authenticate_basic(self, request: TokenRequest) -> ClientEntry:
        """The client of an HTTP Basic ``Authorization`` header alone (RFC 6749 §2.3.1), for
        an endpoint without a body (the revocation feed); the same checks as :meth:`read`
        and :meth:`verify` otherwise."""
        if request.duplicate_authorization:
            raise InvalidRequest("send one Authorization header")
        client_id, secret, _method = credentials_from(request.authorization, {})
        self.guard.check(request.client_addr, client_id)
        return self.verify(request, client_id, secret)
