"""Hostile input to the new endpoints never gets a 500: every answer is a documented RFC 6749
§5.2 / RFC 7591 §3.2.2 body (a fixed-seed sweep of malformed exchange and registration
requests)."""

from __future__ import annotations

import random

import orjson

from gatehouse import registration
from gatehouse.services import registration as registration_service
from tests.apis.conftest import Api, Caller
from tests.factories import TEST_ACTOR

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
VALUES = [
    "",
    "x",
    "\x00",
    "a" * 300,
    "%00",
    "eyJ.eyJ.sig",
    "e30.e30.e30",
    "https://p.example#f",
    "urn:x",
    "payments:read payments:read",
    ACCESS,
    "null",
    "{}",
]


def test_exchange_requests_never_fail_with_500(api: Api, owner: Caller) -> None:
    rng = random.Random(8693)
    subject = api.token_for(owner.record, owner.secret)
    seen: set[str] = set()
    for _ in range(150):
        data = {
            "grant_type": EXCHANGE,
            "client_id": owner.record.client_id,
            "client_secret": owner.secret,
        }
        if rng.random() < 0.7:
            data["subject_token_type"] = ACCESS
            data["subject_token"] = rng.choice([*VALUES, subject])
        for name in rng.sample(
            [
                "subject_token",
                "subject_token_type",
                "resource",
                "audience",
                "scope",
                "requested_token_type",
                "actor_token",
            ],
            rng.randint(0, 5),
        ):
            data[name] = rng.choice([*VALUES, subject])
        response = api.client.post("/customers/acme/oauth2/token", data=data)
        assert response.status_code in (200, 400), (data, response.text)
        body = response.json()
        if response.status_code == 400:
            assert set(body) == {"error", "error_description"}
            seen.add(body["error"])
    assert {"invalid_request", "invalid_grant"} <= seen


def test_registration_bodies_never_fail_with_500(api: Api) -> None:
    ctx = registration.Registrar.of(api.runtime.store, api.runtime.master_key, api.runtime.settings)
    token, _ = registration_service.create_initial_token(ctx, customer_id="acme", actor=TEST_ACTOR)
    rng = random.Random(7591)
    members = [
        "client_name",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "scope",
        "redirect_uris",
        "jwks",
        "contacts",
        "software_id",
        "client_uri",
    ]
    values: list[object] = [
        None,
        1,
        True,
        [],
        {},
        [1],
        ["client_credentials"],
        "viewer",
        "x" * 600,
        "\x00",
        "client_secret_post",
        ["a@b"] * 30,
    ]
    statuses: set[int] = set()
    for _ in range(120):
        body = {name: rng.choice(values) for name in rng.sample(members, rng.randint(0, 4))}
        raw = orjson.dumps(body) if rng.random() < 0.9 else rng.choice([b"{", b"[]", b"\xff", b""])
        response = api.client.post(
            "/customers/acme/oauth2/register",
            content=raw,
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        assert response.status_code in (201, 400), (body, response.text)
        statuses.add(response.status_code)
        if response.status_code == 400:
            assert set(response.json()) == {"error", "error_description"}
            assert response.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}
    assert statuses == {201, 400}
