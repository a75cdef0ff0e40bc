"""Token acceptance and every rejection rule (RFC 9068 §4, RFC 7519 §4.1, RFC 8725 §3)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from tests.verify.fake_issuer import (
    AUDIENCE,
    FakeIssuer,
    IssuerRegistry,
    MakeVerifier,
    b64json,
    b64url,
    hs256_token,
    make_key,
    sign_token,
)

from gatehouse.verify import InvalidToken, TokenVerifier


def reject(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as info:
        verifier.verify(token)
    assert info.value.error == "invalid_token"
    return info.value.description


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_valid_token_is_accepted_for_each_algorithm(registry: IssuerRegistry, alg: str) -> None:
    issuer = registry.new(alg)
    verifier = TokenVerifier(issuer.issuer, AUDIENCE)
    claims = issuer.claims()
    assert verifier.verify(sign_token(issuer.keys[0], claims)) == claims


def test_token_from_pyjwt_is_accepted(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    import jwt

    claims = issuer.claims()
    key = issuer.keys[0]
    token = jwt.encode(
        claims, key.private, algorithm="ES256", headers={"typ": "at+jwt", "kid": key.kid}
    )
    assert verifier.verify(token) == claims


def test_tampered_payload_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    header, _, signature = issuer.token().split(".")
    forged = b64json(issuer.claims(scope="owner"))
    assert reject(verifier, f"{header}.{forged}.{signature}") == "the token signature is invalid"


def test_tampered_signature_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    header, payload, signature = issuer.token().split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 1
    assert reject(verifier, f"{header}.{payload}.{b64url(bytes(raw))}") == (
        "the token signature is invalid"
    )


def test_signature_of_wrong_length_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    header, payload, _ = issuer.token().split(".")
    assert reject(verifier, f"{header}.{payload}.{b64url(b'x' * 63)}") == (
        "the token signature is invalid"
    )


def test_alg_none_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    header = b64json({"alg": "none", "typ": "at+jwt", "kid": issuer.keys[0].kid})
    for signature in ("", "AA"):
        token = f"{header}.{b64json(issuer.claims())}.{signature}"
        assert reject(verifier, token) in (
            "the token's signing algorithm is not accepted",
            "the token is not a compact JWS",
        )


def test_hs256_keyed_with_the_public_key_is_rejected(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    key = issuer.keys[0]
    token = hs256_token(key.public_pem(), issuer.claims(), key.kid)
    assert reject(verifier, token) == "the token's signing algorithm is not accepted"
    assert issuer.jwks_hits == 0  # rejected before any key lookup


def test_algorithm_other_than_the_key_is_pinned_to_is_rejected(registry: IssuerRegistry) -> None:
    issuer = registry.new("RS256")
    verifier = TokenVerifier(issuer.issuer, AUDIENCE)
    key = issuer.keys[0]
    # A genuine PS256 signature by the RS256-pinned key: valid crypto, wrong algorithm.
    token = sign_token(key, issuer.claims(), header={"alg": "PS256"}, sign_alg="PS256")
    assert reject(verifier, token) == "the token's algorithm does not match its key"
    es_header = sign_token(key, issuer.claims(), header={"alg": "ES256"})
    assert reject(verifier, es_header) == "the token's algorithm does not match its key"


def test_algorithm_outside_the_allow_list_is_rejected(registry: IssuerRegistry) -> None:
    issuer = registry.new("EdDSA")
    verifier = TokenVerifier(issuer.issuer, AUDIENCE, algorithms=["ES256"])
    assert reject(verifier, issuer.token()) == "the token's signing algorithm is not accepted"


def test_disallowed_algorithms_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="subset"):
        TokenVerifier("https://issuer.test", AUDIENCE, algorithms=["HS256"])
    with pytest.raises(ValueError, match="subset"):
        TokenVerifier("https://issuer.test", AUDIENCE, algorithms=["none"])


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt2", "application/jwt", ""])
def test_wrong_typ_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier, typ: str) -> None:
    token = sign_token(issuer.keys[0], issuer.claims(), header={"typ": typ})
    assert reject(verifier, token) == "the token is not an access token (typ must be at+jwt)"


def test_missing_typ_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    token = sign_token(issuer.keys[0], issuer.claims(), header={"typ": None})
    assert reject(verifier, token) == "the token is not an access token (typ must be at+jwt)"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_is_case_insensitive_and_may_be_a_media_type(
    issuer: FakeIssuer, verifier: TokenVerifier, typ: str
) -> None:
    token = sign_token(issuer.keys[0], issuer.claims(), header={"typ": typ})
    assert verifier.verify(token)["sub"] == "client-abc"


def test_missing_kid_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    token = sign_token(issuer.keys[0], issuer.claims(), header={"kid": None})
    assert reject(verifier, token) == "the token header has no kid"


def test_critical_header_extension_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    token = sign_token(issuer.keys[0], issuer.claims(), header={"crit": ["exp"], "exp": 1})
    assert reject(verifier, token) == "the token uses unsupported critical header parameters"


def test_wrong_issuer_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    token = issuer.token(iss=issuer.issuer + "x")
    assert reject(verifier, token) == "the token was issued by another issuer"


def test_wrong_audience_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    assert reject(verifier, issuer.token(aud="https://other.test")) == (
        "the token is not intended for this audience"
    )
    assert reject(verifier, issuer.token(aud=None)) == "the token is not intended for this audience"


def test_audience_list_containing_ours_is_accepted(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    assert verifier.verify(issuer.token(aud=["https://other.test", AUDIENCE]))["aud"][1] == AUDIENCE


def test_several_accepted_audiences(issuer: FakeIssuer) -> None:
    verifier = TokenVerifier(issuer.issuer, ["https://a.test", AUDIENCE])
    assert verifier.verify(issuer.token())["aud"] == AUDIENCE


def test_expired_token_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    token = issuer.token(iat=now - 3600, nbf=now - 3600, exp=now - 31)
    assert reject(verifier, token) == "the token has expired"


def test_token_not_yet_valid_is_rejected(issuer: FakeIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert reject(verifier, issuer.token(nbf=now + 120)) == "the token is not valid yet"


def test_token_issued_in_the_future_is_rejected(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    now = int(time.time())
    assert reject(verifier, issuer.token(iat=now + 120)) == "the token was issued in the future"


def test_leeway_is_honoured(issuer: FakeIssuer, make_verifier: MakeVerifier) -> None:
    now = int(time.time())
    recently_expired = issuer.token(exp=now - 10, iat=now - 100, nbf=now - 100)
    soon_valid = issuer.token(nbf=now + 10, iat=now + 10)
    lenient = make_verifier(leeway=30)
    assert lenient.verify(recently_expired)
    assert lenient.verify(soon_valid)
    strict = make_verifier(leeway=0)
    assert reject(strict, recently_expired) == "the token has expired"
    assert reject(strict, soon_valid) == "the token is not valid yet"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", None),
        ("exp", "9999999999"),
        ("exp", True),
        ("iat", None),
        ("sub", None),
        ("client_id", None),
        ("jti", None),
        ("scope", ["viewer"]),
        ("token_use", "id"),
    ],
)
def test_missing_or_mistyped_required_claim_is_rejected(
    issuer: FakeIssuer, verifier: TokenVerifier, claim: str, value: object
) -> None:
    reject(verifier, sign_token(issuer.keys[0], issuer.claims(**{claim: value})))


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "a$b.c.d",
        "....",
        "a.b.c",  # one-character segments: bad base64url length
        b64url(b"not json") + ".e30.AA",
        b64json([1, 2]) + ".e30.AA",
        b64url(b"\xff\xfe") + ".e30.AA",
        "x" * 100_000,
        " " + "a.b.c",
    ],
)
def test_malformed_token_is_rejected(verifier: TokenVerifier, token: str) -> None:
    reject(verifier, token)


def test_non_json_payload_with_valid_signature_is_rejected(
    issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    key = issuer.keys[0]
    header = b64json({"alg": "ES256", "typ": "at+jwt", "kid": key.kid})
    signing_input = f"{header}.{b64url(b'[not json')}"
    token = f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"
    assert reject(verifier, token) == "the token payload is not base64url JSON"
    signing_input = f"{header}.{b64url(json.dumps([1]).encode())}"
    token = f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"
    assert reject(verifier, token) == "the token payload is not a JSON object"


def test_token_of_another_issuers_key_is_rejected(
    registry: IssuerRegistry, issuer: FakeIssuer, verifier: TokenVerifier
) -> None:
    stranger = make_key("ES256")
    token = sign_token(stranger, issuer.claims())
    assert reject(verifier, token) == "the token is signed with an unknown key"
