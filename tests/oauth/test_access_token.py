"""The JWT access token (RFC 9068 §2), verified with PyJWT against the served JWKS."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from starlette.testclient import TestClient
from tests.conftest import make_settings
from tests.factories import add_client, add_customer, basic_auth
from tests.oauth.conftest import Lane, verify_token

from gatehouse.app import create_app
from gatehouse.oauth.keys import Alg
from gatehouse.runtime import Runtime

ALGS: tuple[Alg, ...] = ("ES256", "RS256", "PS256", "EdDSA")
CLAIMS = {
    "iss",
    "sub",
    "client_id",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "scope",
    "customer_id",
    "token_use",
}


def test_header_is_at_jwt_es256_with_a_kid_of_the_jwks(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    token = lane.post_token(creds).json()["access_token"]
    header = jwt.get_unverified_header(token)
    # RFC 9068 §2.1: typ is "at+jwt"; ES256 by default (SPEC §2).
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": header["kid"]}
    assert header["kid"] in {key["kid"] for key in lane.jwks(customer)["keys"]}


def test_claims_are_exactly_the_rfc_9068_set(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer, roles=("viewer", "administrator"), lifetime=900)
    before = int(time.time())
    token = lane.post_token(creds).json()["access_token"]
    after = int(time.time())
    claims = verify_token(lane, token, customer)
    assert set(claims) == CLAIMS
    assert before <= claims["iat"] <= after
    assert claims == {
        "iss": lane.issuer(customer),
        "sub": creds.client_id,
        "client_id": creds.client_id,
        "aud": lane.base_url,
        "iat": claims["iat"],
        "nbf": claims["iat"],
        "exp": claims["iat"] + 900,
        "jti": claims["jti"],
        "scope": "viewer administrator",
        "customer_id": customer,
        "token_use": "access",
    }
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16


def test_token_names_nobody(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    claims = verify_token(lane, lane.post_token(creds).json()["access_token"], customer)
    for member in ("name", "email", "created_by", "creator", "preferred_username", "client_secret"):
        assert member not in claims
    assert creds.secret not in str(claims)


@pytest.mark.parametrize("alg", ALGS)
def test_every_signing_algorithm_verifies_with_pyjwt_on_both_lanes(lane: Lane, alg: Alg) -> None:
    customer = lane.add_customer(alg)
    creds = lane.add_client(customer)
    token = lane.post_token(creds).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    assert header["typ"] == "at+jwt"
    claims = verify_token(lane, token, customer)
    assert claims["customer_id"] == customer


@pytest.mark.parametrize("alg", ALGS)
def test_settings_signing_alg_chooses_the_customers_algorithm(tmp_path: Path, alg: Alg) -> None:
    runtime = Runtime.open(make_settings(tmp_path, signing_alg=alg))
    try:
        add_customer(runtime, "acme")
        record, secret = add_client(runtime, "acme")
        with TestClient(create_app(runtime=runtime), base_url="http://testserver") as http:
            response = http.post(
                "/customers/acme/oauth2/token",
                data={"grant_type": "client_credentials"},
                headers={"authorization": basic_auth(record.client_id, secret)},
            )
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]
            jwks = http.get("/customers/acme/.well-known/jwks.json").json()
        assert [key["alg"] for key in jwks["keys"]] == [alg]
        claims = jwt.decode(
            token,
            jwt.PyJWK(jwks["keys"][0]),
            algorithms=[alg],
            audience="http://testserver",
            issuer="http://testserver/customers/acme",
        )
        assert claims["sub"] == record.client_id
        assert jwt.get_unverified_header(token)["kid"] == jwks["keys"][0]["kid"]
    finally:
        runtime.store.engine.dispose()


def test_pyjwk_client_verifies_a_live_token_from_the_jwks_uri(live_lane: Lane) -> None:
    customer = live_lane.add_customer("RS256")
    creds = live_lane.add_client(customer)
    token = live_lane.post_token(creds).json()["access_token"]
    metadata = live_lane.http.get(
        f"{live_lane.issuer(customer)}/.well-known/oauth-authorization-server"
    ).json()
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=live_lane.base_url,
        issuer=metadata["issuer"],
    )
    assert claims["client_id"] == creds.client_id


def test_a_token_signed_for_one_customer_does_not_verify_with_anothers_keys(lane: Lane) -> None:
    customer_a = lane.add_customer()
    customer_b = lane.add_customer()
    token = lane.post_token(lane.add_client(customer_a)).json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid not in {key["kid"] for key in lane.jwks(customer_b)["keys"]}
    other_key = jwt.PyJWK(lane.jwks(customer_b)["keys"][0])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other_key, algorithms=["ES256"], audience=lane.base_url)
