"""private_key_jwt (RFC 7523 §2.2, RFC 7521 §4.2): a client registered with its public keys gets
tokens with a signed assertion; every failure is one invalid_client."""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt as pyjwt
import pytest

from gatehouse.runtime import Runtime
from tests.api.conftest import Api, Caller
from tests.secretless.assertions import (
    INVALID_CLIENT,
    client_assertion,
    token_with_assertion,
)
from tests.secretless.issuer import Issuer
from tests.secretless.keys import ec_key, ed_key, public_jwks, rsa_key

ISSUER = "http://testserver/customers/acme"
TOKEN_URL = f"{ISSUER}/oauth2/token"


def register(api: Api, owner: Caller, **fields: Any) -> dict[str, Any]:
    response = api.client.post(
        "/v2/app_clients",
        json={
            "name": "signer",
            "api_roles": ["viewer"],
            "token_endpoint_auth_method": "private_key_jwt",
            **fields,
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_CLIENT
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("make_key", [ec_key, rsa_key, ed_key])
def test_a_signed_assertion_gets_the_clients_token(api: Api, owner: Caller, make_key: Any) -> None:
    key = make_key()
    client = register(api, owner, jwks=public_jwks(key))
    response = token_with_assertion(api, "acme", client_assertion(key, client["client_id"], ISSUER))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "viewer", 1800)
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["client_id"]) == (client["client_id"], client["client_id"])
    # The token works on the API like any other.
    listed = api.client.get(
        "/v2/corpora", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert listed.status_code == 200


def test_the_token_endpoint_url_an_array_and_the_shared_path_all_work(
    api: Api, owner: Caller
) -> None:
    key = ec_key()
    cid = register(api, owner, jwks=public_jwks(key))["client_id"]
    cases: list[tuple[str | list[str], str | None]] = [
        (TOKEN_URL, None),
        (["https://other.example", ISSUER], None),
        (ISSUER, "/oauth2/token"),
        (TOKEN_URL, "/oauth/token"),
    ]
    for audience, path in cases:
        response = token_with_assertion(
            api, "acme", client_assertion(key, cid, audience), path=path, client_id=cid
        )
        assert response.status_code == 200, (audience, path, response.text)


def test_a_replayed_assertion_is_refused(api: Api, owner: Caller) -> None:
    key = ec_key()
    cid = register(api, owner, jwks=public_jwks(key))["client_id"]
    assertion = client_assertion(key, cid, ISSUER)
    assert token_with_assertion(api, "acme", assertion).status_code == 200
    refused(token_with_assertion(api, "acme", assertion))


def bad_assertions(key: Any, other: Any, cid: str) -> dict[str, str]:
    now = int(time.time())
    rsa = rsa_key("k1")
    return {
        "wrong issuer": client_assertion(key, cid, ISSUER, iss="someone-else"),
        "wrong subject": client_assertion(key, cid, ISSUER, sub="someone-else"),
        "wrong audience": client_assertion(key, cid, "http://testserver/customers/globex"),
        "expired": client_assertion(key, cid, ISSUER, iat=now - 600, exp=now - 300),
        "not yet valid": client_assertion(key, cid, ISSUER, nbf=now + 600, exp=now + 900),
        "too long-lived": client_assertion(key, cid, ISSUER, exp=now + 2 * 3600),
        "no exp": client_assertion(key, cid, ISSUER, exp=None),
        "no jti": client_assertion(key, cid, ISSUER, jti=None),
        "bad signature": client_assertion(other, cid, ISSUER),
        "unknown kid": client_assertion(ec_key("k9"), cid, ISSUER),
        "rsa key under the registered kid": client_assertion(rsa, cid, ISSUER),
        "alg none": _unsigned(cid),
        "hmac with the public key": _hmac_with_public_key(key, cid),
    }


def _unsigned(cid: str) -> str:
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": ISSUER, "exp": now + 60, "jti": "n1"}
    return pyjwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})  # type: ignore[arg-type]


def _hmac_with_public_key(key: Any, cid: str) -> str:
    import base64
    import hashlib
    import hmac

    import orjson

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    head = b64(orjson.dumps({"alg": "HS256", "kid": "k1"}))
    body = b64(orjson.dumps({"iss": cid, "sub": cid, "aud": ISSUER, "exp": now + 60, "jti": "h1"}))
    secret = orjson.dumps(key.as_dict(private=False))
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def test_every_bad_assertion_gets_the_same_invalid_client(
    api: Api, owner: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gatehouse.token")
    key, other = ec_key("k1"), ec_key("k1")
    cid = register(api, owner, jwks=public_jwks(key))["client_id"]
    for case, assertion in bad_assertions(key, other, cid).items():
        response = token_with_assertion(api, "acme", assertion, client_id=cid)
        assert response.status_code == 401, case
        assert response.json() == INVALID_CLIENT, case
    # The log says why, never the assertion itself.
    text = caplog.text
    assert "client assertion: signature" in text
    assert "client assertion: expiry: expired" in text
    assert assertion not in text


def test_a_mismatched_client_id_a_secret_client_and_both_methods_are_refused(
    api: Api, owner: Caller
) -> None:
    key = ec_key()
    cid = register(api, owner, jwks=public_jwks(key))["client_id"]
    other = register(api, owner, jwks=public_jwks(ec_key()))["client_id"]
    refused(token_with_assertion(api, "acme", client_assertion(key, cid, ISSUER), client_id=other))
    # A secret client never authenticates with a signed JWT of its own.
    secret_client = api.caller("viewer")
    sc = secret_client.record.client_id
    refused(token_with_assertion(api, "acme", client_assertion(key, sc, ISSUER)))
    # RFC 6749 §2.3: one method per request.
    both = token_with_assertion(
        api, "acme", client_assertion(key, cid, ISSUER), client_secret=secret_client.secret
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"
    # And a private_key_jwt client has no secret to present.
    no_secret = api.client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": "gths_x"},
    )
    refused(no_secret)


def test_a_disabled_client_and_another_customers_path_are_refused(api: Api, owner: Caller) -> None:
    api.customer("globex")
    key = ec_key()
    client = register(api, owner, jwks=public_jwks(key))
    cid = client["client_id"]
    refused(
        token_with_assertion(
            api, "acme", client_assertion(key, cid, ISSUER), path="/customers/globex/oauth2/token"
        )
    )
    api.client.patch(
        f"/v2/app_clients/{client['id']}", json={"enabled": False}, headers=owner.headers
    )
    refused(token_with_assertion(api, "acme", client_assertion(key, cid, ISSUER)))


def test_keys_by_jwks_uri_with_rotation_by_kid(
    api: Api, owner: Caller, issuer: Issuer, runtime: Runtime
) -> None:
    # The test issuer's JWKS doubles as the client's key server.
    client = register(api, owner, jwks_uri=f"{issuer.url}/.well-known/jwks")
    cid = client["client_id"]
    first = issuer.active
    assert (
        token_with_assertion(api, "acme", client_assertion(first, cid, ISSUER)).status_code == 200
    )
    fetched = issuer.requests.count("/.well-known/jwks")
    assert (
        token_with_assertion(api, "acme", client_assertion(first, cid, ISSUER)).status_code == 200
    )
    assert issuer.requests.count("/.well-known/jwks") == fetched  # cached
    # A new key: its kid is unknown, so the set is refetched (once the last fetch is a minute
    # old; the test moves the fetcher's clock instead of waiting).
    new = issuer.rotate()
    assert runtime.assertions is not None
    fetcher = runtime.assertions.fetcher
    for entry in fetcher._jwks.values():
        entry.fetched_at -= 61
    assert token_with_assertion(api, "acme", client_assertion(new, cid, ISSUER)).status_code == 200
    assert issuer.requests.count("/.well-known/jwks") == fetched + 1
    # An unknown kid right after a fetch does not fetch again.
    refused(token_with_assertion(api, "acme", client_assertion(ec_key("nope"), cid, ISSUER)))
    assert issuer.requests.count("/.well-known/jwks") == fetched + 1


def test_an_unreachable_jwks_uri_is_invalid_client(api: Api, owner: Caller) -> None:
    from tests.factories import free_port

    key = ec_key()
    cid = register(api, owner, jwks_uri=f"http://127.0.0.1:{free_port()}/jwks")["client_id"]
    refused(token_with_assertion(api, "acme", client_assertion(key, cid, ISSUER)))


def test_an_unknown_client_never_fetches(api: Api, issuer: Issuer) -> None:
    refused(token_with_assertion(api, "acme", client_assertion(ec_key(), "no-such-client", ISSUER)))
    assert issuer.requests == []
