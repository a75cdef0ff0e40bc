"""DPoP at the token endpoint (RFC 9449 §4.3, §5, §6.1), on the ASGI route and the fast lane,
with proofs made by joserfc. Every refusal is pinned with its whole body and headers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from tests.factories import LiveServer
from tests.sender.conftest import NO_STORE, Lane
from tests.sender.proofs import make_proof, new_key, thumbprint


def refused(response: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {name: response.headers.get(name) for name in ("cache-control", "pragma")}
    return response.status_code, response.json(), headers


def invalid_proof(description: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return 400, {"error": "invalid_dpop_proof", "error_description": description}, NO_STORE


@pytest.mark.parametrize(("kind", "alg"), [("EC", "ES256"), ("RSA", "PS256"), ("OKP", "EdDSA")])
def test_a_proof_gets_a_dpop_token_bound_to_its_key(lane: Lane, kind: str, alg: str) -> None:
    key = new_key(kind)
    response = lane.post_token(make_proof(key, "POST", lane.token_url, alg=alg))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert response.headers["cache-control"] == "no-store"
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    # RFC 9449 §6.1: cnf.jkt is the RFC 7638 thumbprint of the proof's key.
    assert claims["cnf"] == {"jkt": thumbprint(key)}


def test_without_a_proof_the_token_stays_a_bearer_token(lane: Lane) -> None:
    response = lane.post_token()
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert "cnf" not in claims


def test_htu_ignores_query_and_fragment_and_compares_normalized(lane: Lane) -> None:
    key = new_key()
    upper = lane.token_url.replace("http://", "HTTP://")
    response = lane.post_token(make_proof(key, "POST", upper + "?x=1#frag"))
    assert response.status_code == 200, response.text


def test_a_replayed_proof_is_refused(lane: Lane) -> None:
    proof = make_proof(new_key(), "POST", lane.token_url)
    assert lane.post_token(proof).status_code == 200
    assert refused(lane.post_token(proof)) == invalid_proof("the DPoP proof has been used before")


def _hs256_proof(url: str) -> str:
    import base64

    import orjson
    from cryptography.hazmat.primitives import hashes, hmac

    def seg(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(obj)).rstrip(b"=").decode()

    header = seg({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}})
    claims = seg({"jti": "x1", "htm": "POST", "htu": url, "iat": int(time.time())})
    mac = hmac.HMAC(b"secret", hashes.SHA256())
    mac.update(f"{header}.{claims}".encode())
    return f"{header}.{claims}." + base64.urlsafe_b64encode(mac.finalize()).rstrip(b"=").decode()


def test_every_bad_proof_is_refused_with_its_reason(lane: Lane) -> None:
    key, url = new_key(), lane.token_url
    other = new_key()
    private = key.as_dict(private=True)
    signed_by_other = make_proof(other, "POST", url, header_jwk=key.as_dict(private=False))
    cases = {
        "the DPoP proof is not a compact JWS": "not-a-jwt",
        "the DPoP proof's header is not base64url JSON": "%%%.e30.e30",
        "the DPoP proof's typ must be dpop+jwt": make_proof(key, "POST", url, typ="JWT"),
        "the DPoP proof's alg is not accepted": _hs256_proof(url),
        "the DPoP proof's jwk must be a public key": make_proof(
            key, "POST", url, header_jwk=private
        ),
        "the DPoP proof's signature is invalid": signed_by_other,
        "the DPoP proof's htm does not match the request method": make_proof(key, "GET", url),
        "the DPoP proof's htu does not match the request URL": make_proof(
            key, "POST", url.replace("/acme/", "/other/")
        ),
        "the DPoP proof's iat is outside the accepted window": make_proof(
            key, "POST", url, iat=time.time() - 120
        ),
        "the DPoP proof has no valid jti": make_proof(key, "POST", url, drop=("jti",)),
        "the DPoP proof has no valid iat": make_proof(key, "POST", url, drop=("iat",)),
    }
    for description, proof in cases.items():
        assert refused(lane.post_token(proof)) == invalid_proof(description), description
    future = make_proof(key, "POST", url, iat=time.time() + 120)
    assert refused(lane.post_token(future)) == invalid_proof(
        "the DPoP proof's iat is outside the accepted window"
    )


def test_two_dpop_headers_are_refused(lane: Lane) -> None:
    key = new_key()
    proofs = [make_proof(key, "POST", lane.token_url) for _ in range(2)]
    assert refused(lane.post_token(proofs)) == invalid_proof("send one DPoP header")


def test_a_bad_proof_still_needs_a_valid_client_first(lane: Lane) -> None:
    lane.secret = lane.secret[:-1] + ("x" if lane.secret[-1] != "x" else "y")
    response = lane.post_token("not-a-jwt")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_dpop_bound_client_gets_no_token_without_a_proof(sender_server: LiveServer) -> None:
    created = sender_server.cli(
        "clients", "create", "--customer", "acme", "--name", "bound", "--role", "viewer",
        "--dpop-bound",
    )  # fmt: skip
    with httpx.Client(timeout=30) as http:
        lane = Lane(
            "fastlane", http, sender_server.base_url, created["client_id"], created["client_secret"]
        )
        deadline = time.monotonic() + 10  # the server learns of the new client from its feed
        response = lane.post_token()
        while response.json().get("error") == "invalid_client" and time.monotonic() < deadline:
            response = lane.post_token()
        assert refused(response) == invalid_proof(
            "this client's tokens are DPoP-bound: send a DPoP proof"
        )
        bound = lane.post_token(make_proof(new_key(), "POST", lane.token_url))
        assert bound.status_code == 200
        assert bound.json()["token_type"] == "DPoP"
        sender_server.cli(
            "clients", "update", created["id"], "--customer", "acme", "--no-dpop-bound"
        )
        response = lane.post_token()
        while response.status_code != 200 and time.monotonic() < deadline + 10:
            response = lane.post_token()
        assert response.json()["token_type"] == "Bearer"
