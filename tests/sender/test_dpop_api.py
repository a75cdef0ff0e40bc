"""DPoP at the built-in API (RFC 9449 §7), on the ASGI app and a real server, for the corpus
fast lane (ListCorpora, GetCorpus) and a FastAPI route (the audit log); introspection and
revocation of bound tokens (RFC 7662, RFC 7009)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sender.conftest import Lane, both_challenges, dpop_challenge, error_of
from tests.sender.proofs import Key, make_proof, new_key


def dpop_token(lane: Lane, key: Key) -> str:
    response = lane.post_token(make_proof(key, "POST", lane.token_url))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def call(lane: Lane, url: str, token: str, proof: str | None, scheme: str = "DPoP") -> Any:
    headers = {"authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["dpop"] = proof
    return lane.http.get(url, headers=headers)


def refusal(error: str, description: str) -> tuple[int, str, str]:
    return 401, description, dpop_challenge(error, description)


def summary(response: Any) -> tuple[int, str, str | None]:
    status, body, challenge = error_of(response)
    assert set(body) == {"messages", "request_id"}
    return status, body["messages"][0], challenge


@pytest.mark.parametrize(
    ("path", "status"), [("/v2/corpora", 200), ("/v2/corpora/none-such", 404), ("/v2/audit", 200)]
)
def test_a_fresh_proof_for_each_call_is_accepted(lane: Lane, path: str, status: int) -> None:
    key = new_key()
    token = dpop_token(lane, key)
    url = lane.base_url + path
    for _ in range(3):  # the verified-token cache never answers for a proof: each is checked
        response = call(lane, url, token, make_proof(key, "GET", url, token=token))
        assert response.status_code == status, response.text
        # The token was accepted: a 404 names the corpus, not the credentials.
        assert "www-authenticate" not in response.headers


def test_every_wrong_use_of_a_bound_token_is_refused(lane: Lane) -> None:
    key = new_key()
    token = dpop_token(lane, key)
    url = lane.corpora_url
    proof = make_proof(key, "GET", url, token=token)
    assert call(lane, url, token, proof).status_code == 200
    cases = {
        ("invalid_dpop_proof", "the DPoP proof has been used before"): proof,
        ("invalid_dpop_proof", "the DPoP proof is signed by another key than the token's"): (
            make_proof(new_key(), "GET", url, token=token)
        ),
        ("invalid_dpop_proof", "the DPoP proof's ath does not match the access token"): (
            make_proof(key, "GET", url, token=token + "x")
        ),
        ("invalid_dpop_proof", "the DPoP proof's ath does not match the access token "): None,
        ("invalid_dpop_proof", "the DPoP proof's htm does not match the request method"): (
            make_proof(key, "POST", url, token=token)
        ),
        ("invalid_dpop_proof", "the DPoP proof's htu does not match the request URL"): (
            make_proof(key, "GET", lane.base_url + "/v2/app_clients", token=token)
        ),
        ("invalid_dpop_proof", "a DPoP proof is required with the DPoP scheme"): "",
    }
    for (error, description), bad in cases.items():
        if bad is None:  # a proof without ath at all
            bad = make_proof(key, "GET", url)
            description = description.strip()
        response = call(lane, url, token, bad or None)
        assert summary(response) == refusal(error, description), description


def test_a_bound_token_sent_as_bearer_is_refused(lane: Lane) -> None:
    key = new_key()
    token = dpop_token(lane, key)
    response = call(lane, lane.corpora_url, token, None, scheme="Bearer")
    description = "the token is DPoP-bound: send it as Authorization: DPoP with a proof"
    assert summary(response) == refusal("invalid_token", description)


def test_a_bearer_token_sent_with_the_dpop_scheme_is_refused(lane: Lane) -> None:
    response = lane.post_token()
    token = response.json()["access_token"]
    proof = make_proof(new_key(), "GET", lane.corpora_url, token=token)
    description = "the token is not DPoP-bound: send it as a Bearer token"
    assert summary(call(lane, lane.corpora_url, token, proof)) == refusal(
        "invalid_token", description
    )


def test_no_credentials_names_both_schemes(lane: Lane) -> None:
    response = lane.http.get(lane.corpora_url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == both_challenges(lane.base_url)


def test_two_dpop_headers_are_refused(lane: Lane) -> None:
    key = new_key()
    token = dpop_token(lane, key)
    url = lane.corpora_url
    headers = [
        ("authorization", f"DPoP {token}"),
        ("dpop", make_proof(key, "GET", url, token=token)),
        ("dpop", make_proof(key, "GET", url, token=token)),
    ]
    response = lane.http.get(url, headers=headers)
    assert summary(response) == refusal("invalid_dpop_proof", "send one DPoP header")


def test_introspection_shows_cnf_and_revocation_refuses_the_token(lane: Lane) -> None:
    key = new_key()
    token = dpop_token(lane, key)
    introspect = lane.base_url + "/customers/acme/oauth2/introspect"
    answer = lane.http.post(introspect, data={"token": token}, headers=lane.auth).json()
    assert answer["active"] is True
    assert answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": key.thumbprint()}
    revoke = lane.base_url + "/customers/acme/oauth2/revoke"
    assert lane.http.post(revoke, data={"token": token}, headers=lane.auth).status_code == 200
    assert lane.http.post(introspect, data={"token": token}, headers=lane.auth).json() == {
        "active": False
    }
    proof = make_proof(key, "GET", lane.corpora_url, token=token)
    response = call(lane, lane.corpora_url, token, proof)
    assert summary(response) == refusal("invalid_token", "the token has been revoked")
