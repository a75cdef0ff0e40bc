"""The optional server nonce of the token endpoint (RFC 9449 §8), GATEHOUSE_DPOP_NONCE=true."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.oauth.dpop import DPoPNonces
from tests.sender.conftest import NO_STORE, Lane, in_process_lane
from tests.sender.proofs import make_proof, new_key


@pytest.fixture
def nonce_lane(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Lane]:
    yield from in_process_lane(tmp_path, migrated_sqlite, dpop_nonce=True)


def test_a_proof_without_the_nonce_gets_use_dpop_nonce_and_the_nonce(nonce_lane: Lane) -> None:
    key = new_key()
    first = nonce_lane.post_token(make_proof(key, "POST", nonce_lane.token_url))
    assert first.status_code == 400
    assert first.json() == {
        "error": "use_dpop_nonce",
        "error_description": "the authorization server requires a DPoP nonce",
    }
    assert {k: first.headers[k] for k in NO_STORE} == NO_STORE
    nonce = first.headers["dpop-nonce"]
    second = nonce_lane.post_token(make_proof(key, "POST", nonce_lane.token_url, nonce=nonce))
    assert second.status_code == 200, second.text
    assert second.json()["token_type"] == "DPoP"
    # RFC 9449 §8.2: the server may hand out the next nonce with a success.
    assert second.headers["dpop-nonce"]


def test_a_forged_or_stale_nonce_is_refused(nonce_lane: Lane) -> None:
    key = new_key()
    forged = DPoPNonces(b"another key" * 3).current()
    for bad in ("made-up", forged):
        response = nonce_lane.post_token(make_proof(key, "POST", nonce_lane.token_url, nonce=bad))
        assert response.status_code == 400
        assert response.json()["error"] == "use_dpop_nonce"
        assert response.headers["dpop-nonce"] != bad


def test_a_nonce_lasts_five_minutes() -> None:
    nonces = DPoPNonces(b"k" * 32)
    nonce = nonces.current(now=1_000_000.0)
    assert nonces.is_valid(nonce, now=1_000_000.0 + 299)
    assert not nonces.is_valid(nonce, now=1_000_000.0 + 301)
    assert nonces.current(now=1_000_000.0 + 30) == nonce  # one nonce a minute
    assert nonces.current(now=1_000_000.0 + 61) != nonce


def test_bearer_requests_need_no_nonce(nonce_lane: Lane) -> None:
    response = nonce_lane.post_token()
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert "dpop-nonce" not in response.headers
