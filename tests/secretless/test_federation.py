"""Workload identity federation: outside tokens from a real OpenID Connect issuer on loopback
(GitHub-Actions- and Kubernetes-shaped) trade for the client's token, as a client assertion and
through the RFC 7523 §2.1 JWT bearer grant; every rejection; the test endpoint explains."""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import pytest

from gatehouse.runtime import Runtime
from tests.api.conftest import Api, Caller
from tests.secretless.assertions import INVALID_CLIENT, token_with_assertion
from tests.secretless.issuer import Issuer
from tests.secretless.keys import rsa_key

AUDIENCE = "http://testserver/customers/acme"
BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_GRANT = {"error": "invalid_grant", "error_description": "the assertion is not valid"}


def workload(api: Api, owner: Caller, **fields: Any) -> dict[str, Any]:
    response = api.client.post(
        "/v2/app_clients",
        json={
            "name": "deployer",
            "api_roles": ["corpus_developer"],
            "token_endpoint_auth_method": "private_key_jwt",
            **fields,
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def federate(api: Api, owner: Caller, app_id: str, **fields: Any) -> Any:
    return api.client.post(
        f"/v2/app_clients/{app_id}/federated_credentials", json=fields, headers=owner.headers
    )


def github_rule(issuer: Issuer, **extra: Any) -> dict[str, Any]:
    return {
        "name": "deploy from main",
        "issuer": issuer.url,
        "subject": "repo:acme/*:ref:refs/heads/main",
        "claims": {"repository_owner_id": "4242"},
        **extra,
    }


def bearer_grant(api: Api, client_id: str, token: str, **extra: str) -> Any:
    return api.client.post(
        "/customers/acme/oauth2/token",
        data={"grant_type": BEARER, "assertion": token, "client_id": client_id, **extra},
    )


@pytest.fixture
def github_client(api: Api, owner: Caller, issuer: Issuer) -> dict[str, Any]:
    client = workload(api, owner)
    response = federate(api, owner, client["id"], **github_rule(issuer))
    assert response.status_code == 201, response.text
    client["credential"] = response.json()
    return client


def test_a_github_token_gets_the_token_of_the_client_whose_rule_matches(
    api: Api, owner: Caller, issuer: Issuer, github_client: dict[str, Any], runtime: Runtime
) -> None:
    other = workload(api, owner, name="other")
    federate(api, owner, other["id"], **github_rule(issuer, subject="repo:acme/web:*"))
    cid = github_client["client_id"]
    response = token_with_assertion(api, "acme", issuer.github(AUDIENCE), client_id=cid)
    assert response.status_code == 200, response.text
    token = response.json()
    claims = pyjwt.decode(token["access_token"], options={"verify_signature": False})
    assert (claims["sub"], token["scope"]) == (cid, "corpus_developer")
    # The same outside token is refused by the client whose rule does not match.
    refused = token_with_assertion(
        api, "acme", issuer.github(AUDIENCE), client_id=other["client_id"]
    )
    assert (refused.status_code, refused.json()) == (401, INVALID_CLIENT)
    # The audit event names the credential and the outside iss/sub, never the token.
    runtime.audit.flush()
    [event] = [
        e
        for e in runtime.store.list_audit(customer_id="acme", action="token.issue")
        if e.target == github_client["id"]
    ]
    assert event.detail["federated_credential_id"] == github_client["credential"]["id"]
    assert event.detail["outside_iss"] == issuer.url
    assert event.detail["outside_sub"] == "repo:acme/api:ref:refs/heads/main"


def test_the_jwt_bearer_grant_with_scope(
    api: Api, issuer: Issuer, github_client: dict[str, Any]
) -> None:
    cid = github_client["client_id"]
    response = bearer_grant(api, cid, issuer.github(AUDIENCE), scope="corpus_developer")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "corpus_developer"
    wrong = bearer_grant(api, cid, issuer.github(AUDIENCE, sub="repo:acme/api:ref:refs/heads/dev"))
    assert (wrong.status_code, wrong.json()) == (400, INVALID_GRANT)
    missing = api.client.post(
        "/customers/acme/oauth2/token", data={"grant_type": BEARER, "assertion": "x.y.z"}
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_client_id_is_required_with_an_outside_token(api: Api, issuer: Issuer) -> None:
    response = token_with_assertion(api, "acme", issuer.github(AUDIENCE))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "client_id is required with an outside token",
    }


def rejections(issuer: Issuer) -> dict[str, str]:
    now = int(time.time())
    stranger = rsa_key("gh-1")  # same kid, another key: a bad signature
    return {
        "wrong audience": issuer.github("https://elsewhere.example"),
        "expired": issuer.github(AUDIENCE, iat=now - 900, nbf=now - 900, exp=now - 300),
        "not yet valid": issuer.github(AUDIENCE, nbf=now + 600, exp=now + 900),
        "too old": issuer.github(AUDIENCE, iat=now - 25 * 3600, nbf=None, exp=now + 300),
        "no iat, exp too far": issuer.github(AUDIENCE, iat=None, exp=now + 25 * 3600),
        "bad signature": issuer.mint(
            pyjwt.decode(issuer.github(AUDIENCE), options={"verify_signature": False}),
            key=stranger,
        ),
        "alg none": pyjwt.encode(
            {"iss": issuer.url, "sub": "repo:acme/api:ref:refs/heads/main", "aud": AUDIENCE},
            None,  # type: ignore[arg-type]
            algorithm="none",
        ),
        "subject one segment off": issuer.github(
            AUDIENCE, sub="repo:acme/api/x:ref:refs/heads/main"
        ),
        "missing claim": issuer.github(AUDIENCE, repository_owner_id=None),
        "claim of another owner": issuer.github(AUDIENCE, repository_owner_id=99),
        "wrong issuer": issuer.github(AUDIENCE, iss="https://token.actions.example"),
    }


def test_every_rejection_both_ways_in(
    api: Api, owner: Caller, issuer: Issuer, github_client: dict[str, Any]
) -> None:
    cid = github_client["client_id"]
    # A second client for the grant: brute-force protection counts failures per client.
    second = workload(api, owner, name="second")
    federate(api, owner, second["id"], **github_rule(issuer))
    for case, token in rejections(issuer).items():
        response = token_with_assertion(api, "acme", token, client_id=cid)
        assert (response.status_code, response.json()) == (401, INVALID_CLIENT), case
        granted = bearer_grant(api, second["client_id"], token)
        assert (granted.status_code, granted.json()) == (400, INVALID_GRANT), case


def test_brute_force_protection_applies_to_assertions(
    api: Api, issuer: Issuer, github_client: dict[str, Any]
) -> None:
    cid = github_client["client_id"]
    bad = issuer.github("https://elsewhere.example")
    statuses = [
        token_with_assertion(api, "acme", bad, client_id=cid).status_code for _ in range(21)
    ]
    assert statuses == [401] * 20 + [429]
    blocked = bearer_grant(api, cid, issuer.github(AUDIENCE))
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1


def test_the_test_endpoint_explains_each_credential(
    api: Api, owner: Caller, issuer: Issuer, github_client: dict[str, Any]
) -> None:
    app_id = github_client["id"]
    dev = federate(
        api,
        owner,
        app_id,
        **github_rule(issuer, name="dev", subject="repo:acme/*:ref:refs/heads/dev"),
    ).json()
    owner_rule = federate(
        api,
        owner,
        app_id,
        **github_rule(issuer, name="other owner", claims={"repository_owner_id": "7"}),
    ).json()
    response = api.client.post(
        f"/v2/app_clients/{app_id}/federated_credentials/test",
        json={"token": issuer.github(AUDIENCE)},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    results = {r["credential_id"]: r for r in response.json()["results"]}
    assert results[github_client["credential"]["id"]] == {
        "credential_id": github_client["credential"]["id"],
        "name": "deploy from main",
        "matched": True,
        "failed_check": None,
        "claim": None,
        "reason": "every check passed",
    }
    assert results[dev["id"]]["failed_check"] == "subject"
    assert results[dev["id"]]["matched"] is False
    assert "repo:acme/*:ref:refs/heads/dev" in results[dev["id"]]["reason"]
    assert (results[owner_rule["id"]]["failed_check"], results[owner_rule["id"]]["claim"]) == (
        "claim",
        "repository_owner_id",
    )
    expired = api.client.post(
        f"/v2/app_clients/{app_id}/federated_credentials/test",
        json={"token": issuer.github(AUDIENCE, exp=int(time.time()) - 300)},
        headers=owner.headers,
    )
    assert {r["failed_check"] for r in expired.json()["results"]} == {"expiry"}


def test_kubernetes_tokens_match_nested_claims(api: Api, owner: Caller, issuer: Issuer) -> None:
    client = workload(api, owner, name="payments worker")
    created = federate(
        api,
        owner,
        client["id"],
        name="payments pods",
        issuer=issuer.url,
        audience="gatehouse",
        subject="system:serviceaccount:payments:*",
        claims={
            "kubernetes.io.namespace": "payments",
            "kubernetes.io.serviceaccount.name": "worker",
        },
    )
    assert created.status_code == 201, created.text
    cid = client["client_id"]
    ok = token_with_assertion(api, "acme", issuer.kubernetes("gatehouse"), client_id=cid)
    assert ok.status_code == 200, ok.text
    # The same pod token again: not single-use, so it still works (Kubernetes tokens carry no jti).
    again = issuer.kubernetes("gatehouse")
    assert token_with_assertion(api, "acme", again, client_id=cid).status_code == 200
    assert token_with_assertion(api, "acme", again, client_id=cid).status_code == 200
    other_ns = token_with_assertion(
        api, "acme", issuer.kubernetes("gatehouse", namespace="billing"), client_id=cid
    )
    assert other_ns.status_code == 401


def test_single_use_refuses_a_replay_and_a_token_without_jti(
    api: Api, owner: Caller, issuer: Issuer
) -> None:
    client = workload(api, owner)
    federate(api, owner, client["id"], **github_rule(issuer, single_use=True))
    cid = client["client_id"]
    token = issuer.github(AUDIENCE)
    assert bearer_grant(api, cid, token).status_code == 200
    assert bearer_grant(api, cid, token).json() == INVALID_GRANT
    assert bearer_grant(api, cid, issuer.github(AUDIENCE, jti=None)).json() == INVALID_GRANT


def test_key_rotation_at_the_issuer(
    api: Api, issuer: Issuer, github_client: dict[str, Any], runtime: Runtime
) -> None:
    cid = github_client["client_id"]
    assert bearer_grant(api, cid, issuer.github(AUDIENCE)).status_code == 200
    issuer.rotate()
    assert runtime.assertions is not None
    for entry in runtime.assertions.fetcher._jwks.values():
        entry.fetched_at -= 61  # the last fetch a minute ago: an unknown kid may refetch
    response = bearer_grant(api, cid, issuer.github(AUDIENCE))
    assert response.status_code == 200, response.text


def test_a_secret_client_may_hold_federated_credentials(
    api: Api, owner: Caller, issuer: Issuer
) -> None:
    caller = api.caller("viewer", name="secret and federated")
    created = federate(api, owner, caller.record.id, **github_rule(issuer))
    assert created.status_code == 201
    response = bearer_grant(api, caller.record.client_id, issuer.github(AUDIENCE))
    assert response.status_code == 200, response.text


def test_a_rule_that_trusts_the_whole_issuer_is_refused(
    api: Api, owner: Caller, issuer: Issuer
) -> None:
    client = workload(api, owner)
    response = federate(api, owner, client["id"], name="all", issuer=issuer.url, subject="**")
    assert response.status_code == 400
    assert "pins nothing but the issuer" in response.json()["field_errors"]["subject"]
    allowed = federate(
        api,
        owner,
        client["id"],
        name="all",
        issuer=issuer.url,
        subject="**",
        allow_any_subject=True,
    )
    assert allowed.status_code == 201


def test_credentials_crud_and_limits(api: Api, owner: Caller, issuer: Issuer) -> None:
    client = workload(api, owner)
    base = f"/v2/app_clients/{client['id']}/federated_credentials"
    created = federate(api, owner, client["id"], **github_rule(issuer)).json()
    assert created["audience"] is None
    assert created["single_use"] is False
    got = api.client.get(f"{base}/{created['id']}", headers=owner.headers)
    assert got.json() == created
    patched = api.client.patch(
        f"{base}/{created['id']}",
        json={"audience": "gatehouse", "single_use": True},
        headers=owner.headers,
    )
    assert patched.status_code == 200
    assert (patched.json()["audience"], patched.json()["single_use"]) == ("gatehouse", True)
    listed = api.client.get(base, headers=owner.headers).json()["federated_credentials"]
    assert [c["id"] for c in listed] == [created["id"]]
    for index in range(19):
        assert (
            federate(api, owner, client["id"], **github_rule(issuer, name=f"r{index}")).status_code
            == 201
        )
    too_many = federate(api, owner, client["id"], **github_rule(issuer, name="21st"))
    assert too_many.status_code == 400
    https_only = api.client.post(
        "/v2/app_clients", json={"name": "x"}, headers=owner.headers
    ).json()
    assert (
        federate(
            api, owner, https_only["id"], **{**github_rule(issuer), "issuer": "ftp://x"}
        ).status_code
        == 400
    )
    deleted = api.client.delete(f"{base}/{created['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    assert api.client.get(f"{base}/{created['id']}", headers=owner.headers).status_code == 404
    assert (
        api.client.get(
            "/v2/app_clients/app_nope/federated_credentials", headers=owner.headers
        ).status_code
        == 404
    )


def test_a_wrong_issuer_in_discovery_is_never_trusted(
    api: Api, issuer: Issuer, github_client: dict[str, Any]
) -> None:
    issuer.serve_issuer = "https://impostor.example"
    response = bearer_grant(api, github_client["client_id"], issuer.github(AUDIENCE))
    assert (response.status_code, response.json()) == (400, INVALID_GRANT)
