"""OAuth 2.0 Token Exchange (RFC 8693) for access tokens of one customer.

The requesting client authenticates as at any token request and presents a Gatehouse access
token of its own customer as ``subject_token``. The new token is for the requested API (by
default the subject token's own), with a scope within the requester's grant there — and within
the subject token's scope when the API is the subject token's own (downscoping). It never
outlives the subject token, keeps its ``sub``, and records the requester in ``act`` (nested
when the subject token already had one, RFC 8693 §4.1). Its standing follows the whole chain:
see :func:`gatehouse.oauth.inspect.check_standing`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gatehouse.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget
from gatehouse.oauth.directory import ClientEntry, Directory
from gatehouse.oauth.grant import narrow_scope
from gatehouse.oauth.keys import Signer
from gatehouse.oauth.params import required
from gatehouse.oauth.target import match_key, requested_target, resolve_target
from gatehouse.oauth.tokens import PendingToken, new_jti
from gatehouse.verify.errors import VerifyError

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
MAX_CHAIN = 10  # delegation hops kept in act; a longer chain is refused


@dataclass
class TokenExchange:
    """The token-exchange grant, staged like the client credentials grant."""

    check_subject: Callable[[str], dict[str, Any]]
    directory: Directory
    issuer_for: Callable[[str], str]
    default_audience: str

    def __post_init__(self) -> None:
        self._builtin_key = match_key(self.default_audience)

    def prepare(self, client: ClientEntry, params: dict[str, str], signer: Signer) -> PendingToken:
        """The exchanged token's claims, or an :class:`OAuthError`."""
        # RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED.
        subject_token = required(params, "subject_token")
        token_type = required(params, "subject_token_type")
        # RFC 8693 §2.2.2: an unsupported subject token type is invalid_request.
        if token_type != ACCESS_TOKEN_TYPE:
            raise InvalidRequest(f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
        if "actor_token" in params or "actor_token_type" in params:
            raise InvalidRequest("actor_token is not supported: the requesting client is the actor")
        wanted_type = params.get("requested_token_type")
        if wanted_type is not None and wanted_type != ACCESS_TOKEN_TYPE:
            raise InvalidRequest(f"requested_token_type must be {ACCESS_TOKEN_TYPE}")
        subject = self._subject(subject_token, client)

        # RFC 8693 §2.1: resource/audience name the target; default: the subject token's API.
        requested = requested_target(params)
        subject_aud = subject["aud"]
        target = resolve_target(
            requested if requested is not None else subject_aud,
            client,
            self.directory,
            self._builtin_key,
            self.default_audience,
        )
        grant = client.grants[target.api.id] if target.api is not None else client.api_roles
        allowed = grant
        if match_key(target.audience) == match_key(subject_aud):
            # Downscoping: the subject token's own API gives at most the subject's scope.
            held = set(str(subject.get("scope", "")).split())
            allowed = tuple(s for s in grant if s in held)
        scope = narrow_scope(params.get("scope"), allowed)
        # RFC 8693 §2.2.2: no scope left to grant is invalid_scope.
        if not scope:
            raise InvalidScope("no scope of the target API is both granted and held")

        now_ns = time.time_ns()
        iat = now_ns // 1_000_000_000
        lifetime = client.token_lifetime_seconds
        if target.api is not None and target.api.token_lifetime_seconds is not None:
            lifetime = min(lifetime, target.api.token_lifetime_seconds)
        # RFC 8693 §2.2.1 (and our rule): the new token never outlives the subject token.
        lifetime = min(lifetime, int(subject["exp"]) - iat)
        if lifetime <= 0:
            raise InvalidGrant("the subject token is invalid, expired or revoked")
        claims: dict[str, Any] = {
            "iss": self.issuer_for(client.customer_id),
            "sub": subject["sub"],
            "client_id": client.client_id,
            "aud": target.audience,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "jti": new_jti(now_ns),
            "scope": scope,
            "customer_id": client.customer_id,
            "token_use": "access",
        }
        act = _actor_claim(subject, client.client_id)
        if act is not None:
            claims["act"] = act
        return PendingToken(
            signer=signer,
            signing_input=signer.signing_input(claims),
            jti=claims["jti"],
            expires_in=lifetime,
            scope=scope,
            audience=target.audience,
            issued_at=now_ns / 1e9,
        )

    def _subject(self, token: str, client: ClientEntry) -> dict[str, Any]:
        try:
            subject = self.check_subject(token)
        except VerifyError:
            # RFC 8693 §2.2.2: an invalid subject token is invalid_grant.
            raise InvalidGrant("the subject token is invalid, expired or revoked") from None
        if subject.get("customer_id") != client.customer_id:
            raise InvalidGrant(
                "the subject token is invalid, expired or revoked",
                log_detail="subject token of another customer",
            )
        if not isinstance(subject.get("aud"), str):
            raise InvalidTarget("the subject token names no single API")
        return subject


def _actor_claim(subject: dict[str, Any], requester: str) -> dict[str, Any] | None:
    """RFC 8693 §4.1: ``act`` names the current actor; earlier actors nest inside it."""
    previous = subject.get("act")
    if requester == subject.get("client_id"):
        return previous if isinstance(previous, dict) else None
    act: dict[str, Any] = {"sub": requester}
    if isinstance(previous, dict):
        if chain_length(previous) >= MAX_CHAIN:
            raise InvalidGrant(f"the delegation chain is longer than {MAX_CHAIN}")
        act["act"] = previous
    return act


def chain_length(act: dict[str, Any]) -> int:
    length = 0
    current: Any = act
    while isinstance(current, dict) and length <= MAX_CHAIN:
        length += 1
        current = current.get("act")
    return length


def chain_clients(claims: Mapping[str, Any]) -> list[str]:
    """Every client of a token's chain: its ``client_id``, ``sub`` and each ``act.sub``."""
    found = [claims.get("client_id"), claims.get("sub")]
    current = claims.get("act")
    hops = 0
    while isinstance(current, dict) and hops <= MAX_CHAIN:
        found.append(current.get("sub"))
        current = current.get("act")
        hops += 1
    return list(dict.fromkeys(c for c in found if isinstance(c, str)))
