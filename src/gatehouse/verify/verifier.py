"""``TokenVerifier``: validate RFC 9068 JWT access tokens issued by a Gatehouse issuer.

RFC 9068 §4 (validating JWT access tokens), RFC 7519 §4.1 (registered claims), RFC 7515 §5.2
(JWS validation), RFC 8725 §3.1/§3.11 (algorithm verification, explicit typing). The hot path
is: one regex match, a cached header lookup, base64url + JSON of the payload and one pyca
``verify`` call; a token already verified costs a dict lookup and an ``exp`` comparison.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeGuard, runtime_checkable

import httpx

from gatehouse.verify.dpop import (
    DPOP_ALGORITHMS,
    PROOF_WINDOW,
    DPoPContext,
    MemoryReplayCache,
    ProofError,
    ReplayCache,
    check_proof,
)
from gatehouse.verify.errors import (
    InsufficientScope,
    InvalidDPoPProof,
    InvalidToken,
    KeySetUnavailable,
)
from gatehouse.verify.jws import SUPPORTED_ALGORITHMS, PinnedKey, b64url_decode
from gatehouse.verify.keyset import JwksSource, KeySet
from gatehouse.verify.memo import Memo

json_loads: Callable[[bytes], Any]
try:  # optional accelerator (a server dependency); the stdlib parser is the fallback
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover - exercised by the import-isolation test
    from json import loads as json_loads


__all__ = [
    "ANY_AUDIENCE",
    "DEFAULT_ALGORITHMS",
    "AudiencePolicy",
    "RevocationCheck",
    "RevocationFeed",
    "TokenVerifier",
    "certificate_thumbprint",
    "check_roles",
]

DEFAULT_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
# RFC 9068 §4: typ MUST be "at+jwt" or "application/at+jwt" (media types are case-insensitive).
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_HEADER_CACHE_SIZE = 256
_HEADER_CACHE_BYTES = 256 * 1024
# What a remembered token costs beyond its own characters (its claims dict, the entry).
_ENTRY_OVERHEAD = 512
_Parsed = tuple[str, str, str, str]  # alg, kid, payload segment, signature segment


@runtime_checkable
class RevocationFeed(Protocol):
    """Anything that can tell whether verified claims were revoked since they were issued.

    Called on every :meth:`TokenVerifier.verify`, cache hits included, so it must answer from
    local state (a set of revoked ``jti`` values, a per-client "revoked before" timestamp fed by
    the issuer's change feed), never with network I/O.
    """

    def is_revoked(self, claims: Mapping[str, Any]) -> bool: ...


RevocationCheck = Callable[[dict[str, Any]], bool]
# Whether one value of a token's ``aud`` identifies this resource server (RFC 9068 §4).
AudiencePolicy = Callable[[str], bool]


def ANY_AUDIENCE(value: str) -> bool:
    """The audience policy of an authorization server answering for its tokens of every
    audience (RFC 7662 §4: the resource server checks ``aud`` itself)."""
    return True


def _invalid(description: str) -> InvalidToken:
    return InvalidToken("invalid_token", description)


def _dpop_error(error: InvalidToken) -> InvalidToken:
    error.scheme = "DPoP"
    return error


def certificate_thumbprint(der: bytes) -> str:
    """RFC 8705 §3.1: ``x5t#S256``, the base64url SHA-256 of the DER certificate."""
    digest = hashlib.sha256(der).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _is_number(value: object) -> TypeGuard[float]:
    # bool is an int subclass but not a JSON number; NaN/inf never reach here from JSON.
    kind = type(value)
    return kind is int or (kind is float and math.isfinite(value))  # type: ignore[arg-type]


def check_roles(claims: Mapping[str, Any], roles: Iterable[str]) -> None:
    """Raise :class:`InsufficientScope` unless every role is in the ``scope`` claim."""
    wanted = tuple(roles)
    scope = claims.get("scope")
    granted = scope.split() if isinstance(scope, str) else ()
    missing = [role for role in wanted if role not in granted]
    if missing:
        # RFC 6750 §3.1: insufficient_scope names the scope required for the resource.
        raise InsufficientScope(
            "the token lacks the role(s): " + " ".join(missing), scope=" ".join(wanted)
        )


class TokenVerifier:
    """Verify Gatehouse access tokens for one ``issuer`` and ``audience``.

    ``audience`` may be one string, several accepted values, or an :data:`AudiencePolicy`
    (a callable saying whether one ``aud`` value identifies this resource server;
    :func:`ANY_AUDIENCE` accepts every value). ``is_revoked`` takes either a
    callable ``(claims) -> bool`` or a :class:`RevocationFeed`. ``required_roles`` are checked
    on every call (:class:`InsufficientScope` if any is absent from the ``scope`` claim).
    ``keys`` is where the keys come from: a :class:`~gatehouse.verify.keyset.JwksSource` (a
    local source, e.g. the issuer's own memory) instead of fetching the issuer's JWKS over
    HTTP; :meth:`sync_keys` installs what it holds now.
    The returned claims are a fresh ``dict`` each time; mutate it freely.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str] | AudiencePolicy,
        *,
        keys: JwksSource | None = None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = 30,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        jwks_uri: str | None = None,
        jwks_refresh_min_interval: float = 10.0,
        jwks_max_age: float = 300.0,
        cache_size: int = 10_000,
        cache_bytes: int = 32 * 1024 * 1024,
        required_roles: Iterable[str] = (),
        is_revoked: RevocationCheck | RevocationFeed | None = None,
        max_token_length: int = 8192,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        dpop_algorithms: Iterable[str] = DPOP_ALGORITHMS,
        dpop_replay: ReplayCache | None = None,
    ) -> None:
        self.issuer = issuer
        if callable(audience):
            self.audiences: frozenset[str] = frozenset()
            self._audience_ok: AudiencePolicy = audience
        else:
            self.audiences = frozenset([audience] if isinstance(audience, str) else audience)
            self._audience_ok = self.audiences.__contains__
            if not self.audiences:
                raise ValueError("at least one audience is required")
        self.algorithms = frozenset(algorithms)
        # RFC 8725 §3.1: only an explicit allow-list of asymmetric algorithms; never none/HS*.
        if not self.algorithms or not self.algorithms <= SUPPORTED_ALGORITHMS:
            supported = ", ".join(sorted(SUPPORTED_ALGORITHMS))
            raise ValueError(f"algorithms must be a non-empty subset of: {supported}")
        self.leeway = leeway
        self.cache_size = cache_size
        self.required_roles = tuple(required_roles)
        self.max_token_length = max_token_length
        self._clock = clock
        if isinstance(is_revoked, RevocationFeed):
            is_revoked = is_revoked.is_revoked
        self._is_revoked: RevocationCheck | None = is_revoked
        # Verified tokens only, bounded in count and in bytes (their length counted twice: the
        # string and its decoded claims).
        self._cache: Memo[str, tuple[float, dict[str, Any]]] = Memo(
            max_entries=cache_size, max_bytes=cache_bytes
        )
        self._cache_entries = self._cache.entries
        # Headers of verified tokens only (a header is remembered once its signature held).
        self._headers: Memo[str, tuple[str, str]] = Memo(
            max_entries=_HEADER_CACHE_SIZE, max_bytes=_HEADER_CACHE_BYTES
        )
        self._header_entries = self._headers.entries
        self.dpop_algorithms = tuple(dpop_algorithms)
        # RFC 9449 §11.1: a proof is accepted once within its window (per process by default).
        self.dpop_replay: ReplayCache = dpop_replay or MemoryReplayCache()
        self.keyset = KeySet(
            issuer,
            algorithms=self.algorithms,
            source=keys,
            jwks_uri=jwks_uri,
            http_client=http_client,
            async_http_client=async_http_client,
            refresh_min_interval=jwks_refresh_min_interval,
            max_age=jwks_max_age,
            on_keys_removed=self.clear_cache,
            monotonic=monotonic,
        )

    # -- public API --------------------------------------------------------------------------

    def verify(
        self,
        token: str,
        *,
        dpop: DPoPContext | None = None,
        certificate: bytes | None = None,
    ) -> dict[str, Any]:
        """Return the claims of a valid ``token``; raise :class:`InvalidToken` otherwise.

        ``dpop``: the token came as ``Authorization: DPoP`` with this proof (RFC 9449 §7.1);
        ``certificate``: the DER client certificate of the connection (RFC 8705 §3). A token
        bound to a key or a certificate is refused without a matching proof or certificate.
        """
        claims = self._claims(token)
        if dpop is not None or "cnf" in claims:
            self._check_binding(token, claims, dpop, certificate)
        return self._authorize(claims)

    def verify_unbound(self, token: str) -> dict[str, Any]:
        """:meth:`verify` without the sender check (RFC 9449 §7, RFC 8705 §3): for an
        authorization server answering about its bound tokens without their proof (RFC 7009
        revocation, RFC 7662 introspection). A resource server calls :meth:`verify`."""
        return self._authorize(self._claims(token))

    def sync_keys(self) -> None:
        """Install the key source's current keys (see ``keys``); without one, nothing."""
        self.keyset.sync()

    def _claims(self, token: str) -> dict[str, Any]:
        """Signature and claims, from the verified-token cache when seen before."""
        claims = self._cache_hit(token)
        if claims is None:
            parsed = self._parse(token)
            key = self.keyset.keys.get(parsed[1])
            if key is None:
                # RFC 7517 §4.5: an unknown kid may mean rotation; refetch (rate-limited).
                self.keyset.refresh(parsed[1])
                key = self._key_after_refresh(parsed[1])
            elif self.keyset.is_stale():
                self.keyset.refresh(wait=False)
            claims = self._verify_parsed(token, parsed, key)
        return claims

    async def averify(
        self,
        token: str,
        *,
        dpop: DPoPContext | None = None,
        certificate: bytes | None = None,
    ) -> dict[str, Any]:
        """Async twin of :meth:`verify`: key fetches use ``httpx.AsyncClient``."""
        claims = self._cache_hit(token)
        if claims is None:
            parsed = self._parse(token)
            key = self.keyset.keys.get(parsed[1])
            if key is None:
                await self.keyset.arefresh(parsed[1])
                key = self._key_after_refresh(parsed[1])
            elif self.keyset.is_stale():
                await self.keyset.arefresh(wait=False)
            claims = self._verify_parsed(token, parsed, key)
        if dpop is not None or "cnf" in claims:
            self._check_binding(token, claims, dpop, certificate)
        return self._authorize(claims)

    def check_roles(self, claims: Mapping[str, Any], roles: Iterable[str]) -> None:
        """Raise :class:`InsufficientScope` unless every role is in the ``scope`` claim."""
        check_roles(claims, roles)

    def clear_cache(self) -> None:
        """Forget every verified token (called when a signing key leaves the JWKS)."""
        self._cache.clear()

    # -- steps -------------------------------------------------------------------------------

    def _check_binding(
        self,
        token: str,
        claims: Mapping[str, Any],
        dpop: DPoPContext | None,
        certificate: bytes | None,
    ) -> None:
        """RFC 9449 §7 and RFC 8705 §3: the sender proves it holds the token's key. Every
        proof is checked anew: the verified-token cache never answers for one."""
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        x5t = cnf.get("x5t#S256") if isinstance(cnf, dict) else None
        if dpop is None:
            # RFC 9449 §7.2: a DPoP-bound token must not be accepted as a bearer token.
            if jkt is not None:
                raise _dpop_error(
                    _invalid("the token is DPoP-bound: send it as Authorization: DPoP with a proof")
                )
        else:
            self._check_proof(token, jkt, dpop)
        # RFC 8705 §3: a certificate-bound token needs the same certificate on the connection.
        if x5t is not None and (certificate is None or certificate_thumbprint(certificate) != x5t):
            raise _invalid("the token is bound to a client certificate that was not presented")

    def _check_proof(self, token: str, jkt: object, dpop: DPoPContext) -> None:
        if not isinstance(jkt, str):
            # RFC 9449 §7.1: the DPoP scheme is for DPoP-bound tokens only.
            raise _dpop_error(_invalid("the token is not DPoP-bound: send it as a Bearer token"))
        if dpop.proof is None:
            raise InvalidDPoPProof("a DPoP proof is required with the DPoP scheme")
        try:
            proof = check_proof(
                dpop.proof,
                method=dpop.method,
                url=dpop.url,
                algorithms=self.dpop_algorithms,
                access_token=token,
                now=self._clock(),
            )
        except ProofError as error:
            raise InvalidDPoPProof(str(error)) from None
        # RFC 9449 §7.1: the proof's key must be the one the token is bound to (cnf.jkt).
        if proof.jkt != jkt:
            raise InvalidDPoPProof("the DPoP proof is signed by another key than the token's")
        # RFC 9449 §11.1: a proof is single-use within its window.
        if not self.dpop_replay.first_use(f"{jkt}:{proof.jti}", 2 * PROOF_WINDOW):
            raise InvalidDPoPProof("the DPoP proof has been used before")

    def _cache_hit(self, token: str) -> dict[str, Any] | None:
        entry = self._cache_entries.get(token)
        if entry is None:
            return None
        # RFC 7519 §4.1.4: a token MUST NOT be accepted on or after its expiration time.
        if self._clock() >= entry[0]:
            self._cache.pop(token)
            raise _invalid("the token has expired")
        return entry[1]

    def _parse(self, token: str) -> _Parsed:
        if not isinstance(token, str) or len(token) > self.max_token_length:
            raise _invalid("the token is too large")
        # RFC 7515 §7.1: compact serialization is three base64url segments joined by dots
        # (each segment's alphabet is enforced by the strict decoder).
        segments = token.split(".")
        if len(segments) != 3:
            raise _invalid("the token is not a compact JWS")
        header = self._header_entries.get(segments[0])
        if header is None:
            header = self._parse_header(segments[0])
        return header[0], header[1], segments[1], segments[2]

    def _parse_header(self, segment: str) -> tuple[str, str]:
        try:
            header = json_loads(b64url_decode(segment))
        except ValueError as exc:
            raise _invalid("the token header is not base64url JSON") from exc
        if not isinstance(header, dict):
            raise _invalid("the token header is not a JSON object")
        # RFC 7515 §4.1.11: unknown "crit" extensions MUST make the JWS invalid; we know none.
        if "crit" in header:
            raise _invalid("the token uses unsupported critical header parameters")
        typ = header.get("typ")
        # RFC 9068 §4: resource servers MUST verify that typ is "at+jwt" (RFC 8725 §3.11).
        if not isinstance(typ, str) or typ.lower() not in _ACCESS_TOKEN_TYPES:
            raise _invalid("the token is not an access token (typ must be at+jwt)")
        alg, kid = header.get("alg"), header.get("kid")
        # RFC 8725 §3.1: reject any algorithm not on the allow-list (none, HS256, ...).
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _invalid("the token's signing algorithm is not accepted")
        # The key is chosen by its kid, never by trying keys until one verifies.
        if not isinstance(kid, str) or not kid:
            raise _invalid("the token header has no kid")
        return alg, kid

    def _key_after_refresh(self, kid: str) -> PinnedKey:
        if not self.keyset.loaded:
            raise KeySetUnavailable("the issuer's signing keys are unavailable")
        key = self.keyset.keys.get(kid)
        if key is None:
            raise _invalid("the token is signed with an unknown key")
        return key

    def _verify_parsed(self, token: str, parsed: _Parsed, key: PinnedKey) -> dict[str, Any]:
        alg, _, payload_seg, signature_seg = parsed
        # RFC 8725 §3.1: the algorithm MUST be the one the key is pinned to.
        if alg != key.alg:
            raise _invalid("the token's algorithm does not match its key")
        try:
            signature = b64url_decode(signature_seg)
            payload = b64url_decode(payload_seg)
        except ValueError as exc:
            raise _invalid("the token is not base64url") from exc
        # Both segments are now known to be ASCII base64url, so is the signing input.
        signing_input = token[: len(token) - len(signature_seg) - 1].encode("ascii")
        # RFC 7515 §5.2 step 8: the signature MUST validate, or the JWS is rejected.
        if not key.verify(signature, signing_input):
            raise _invalid("the token signature is invalid")
        try:
            claims = json_loads(payload)
        except ValueError as exc:
            raise _invalid("the token payload is not base64url JSON") from exc
        if not isinstance(claims, dict):
            raise _invalid("the token payload is not a JSON object")
        deadline = self._check_claims(claims)
        self._remember(token, deadline, claims)
        header_segment = token[: token.index(".")]
        if header_segment not in self._header_entries:
            self._headers.put(header_segment, (alg, parsed[1]), len(header_segment))
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> float:
        now, leeway = self._clock(), self.leeway
        # RFC 9068 §4: iss MUST exactly match the expected issuer.
        if claims.get("iss") != self.issuer:
            raise _invalid("the token was issued by another issuer")
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        # RFC 9068 §4: aud MUST contain a value identifying this resource server.
        accepts = self._audience_ok
        if not any(isinstance(item, str) and accepts(item) for item in auds):
            raise _invalid("the token is not intended for this audience")
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        # RFC 7519 §2: NumericDate is a JSON number; exp and iat are REQUIRED (RFC 9068 §2.2).
        if not _is_number(exp) or not _is_number(iat) or not (nbf is None or _is_number(nbf)):
            raise _invalid("the exp, iat or nbf claim is missing or not a number")
        # RFC 7519 §4.1.4: reject on or after exp (allowing a small leeway for clock skew).
        if now >= exp + leeway:
            raise _invalid("the token has expired")
        # RFC 7519 §4.1.5: reject before nbf.
        if nbf is not None and now + leeway < nbf:
            raise _invalid("the token is not valid yet")
        if now + leeway < iat:
            raise _invalid("the token was issued in the future")
        # RFC 9068 §2.2: sub, client_id and jti are REQUIRED claims.
        if not (
            type(claims.get("sub")) is str
            and type(claims.get("client_id")) is str
            and type(claims.get("jti")) is str
        ):
            raise _invalid("the sub, client_id or jti claim is missing")
        if claims.get("token_use", "access") != "access":
            raise _invalid("the token is not an access token")
        if not isinstance(claims.get("scope", ""), str):
            raise _invalid("the scope claim is not a string")
        return float(exp + leeway)

    def _remember(self, token: str, deadline: float, claims: dict[str, Any]) -> None:
        # Bounded, insertion-ordered: the oldest entries go first.
        self._cache.put(token, (deadline, claims), 2 * len(token) + _ENTRY_OVERHEAD)

    def _authorize(self, claims: dict[str, Any]) -> dict[str, Any]:
        # Revocation is consulted on every call, cache hits included.
        if self._is_revoked is not None and self._is_revoked(claims):
            raise _invalid("the token has been revoked")
        if self.required_roles:
            check_roles(claims, self.required_roles)
        return dict(claims)
