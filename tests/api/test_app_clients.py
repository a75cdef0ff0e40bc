"""App clients over the v2 API: create, get, list, update, delete, rotate_secret, and where a
secret may appear."""

from __future__ import annotations

from typing import Any

import pytest

from gatehouse.store import tables as t
from tests.api.conftest import Api, Caller, error_body

CLIENT_FIELDS = {
    "id",
    "type",
    "name",
    "description",
    "client_id",
    "api_roles",
    "corpus_roles",
    "enabled",
    "token_lifetime_seconds",
    "created_at",
    "last_used_at",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
    "dpop_bound_access_tokens",
    "tls_client_certificate_bound_access_tokens",
}


def token_status(api: Api, client_id: str, secret: str) -> int:
    response = api.client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    return response.status_code


def create(api: Api, caller: Caller, **body: Any) -> dict[str, Any]:
    response = api.client.post("/v2/app_clients", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_returns_the_secret_once_and_it_works(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "docs")
    body = create(
        api,
        owner,
        type="client_credentials",
        name="indexer",
        description="nightly job",
        api_roles=["corpus_developer"],
        corpus_roles=[{"corpus_key": "docs", "role": "editor"}],
        token_lifetime_seconds=600,
    )
    assert set(body) == CLIENT_FIELDS | {"client_secret"}
    assert body["id"].startswith("app_")
    assert body["api_roles"] == ["corpus_developer"]
    assert body["corpus_roles"] == [{"corpus_key": "docs", "role": "editor"}]
    assert body["token_lifetime_seconds"] == 600
    assert body["enabled"] is True
    assert body["last_used_at"] is None
    assert token_status(api, body["client_id"], body["client_secret"]) == 200
    listed = api.client.get("/v2/app_clients", headers=owner.headers).json()["app_clients"]
    assert all("client_secret" not in c for c in listed)
    patched = api.client.patch(
        f"/v2/app_clients/{body['id']}", json={"description": "x"}, headers=owner.headers
    ).json()
    assert "client_secret" not in patched


def test_get_shows_the_secret_to_an_owner_for_copy_secret(api: Api, owner: Caller) -> None:
    body = create(api, owner, name="svc", api_roles=["viewer"])
    got = api.client.get(f"/v2/app_clients/{body['id']}", headers=owner.headers)
    assert got.status_code == 200
    assert got.json() == {**body, "last_used_at": got.json()["last_used_at"]}


def test_list_pages_and_filters_by_name(api: Api, owner: Caller) -> None:
    for name in ("alpha-1", "alpha-2", "beta", "alpha-3"):
        create(api, owner, name=name)
    first = api.client.get(
        "/v2/app_clients", params={"limit": 2, "filter": "^alpha"}, headers=owner.headers
    ).json()
    assert [c["name"] for c in first["app_clients"]] == ["alpha-1", "alpha-2"]
    second = api.client.get(
        "/v2/app_clients",
        params={"limit": 2, "filter": "^alpha", "page_key": first["metadata"]["page_key"]},
        headers=owner.headers,
    ).json()
    assert [c["name"] for c in second["app_clients"]] == ["alpha-3"]
    assert second["metadata"] == {"page_key": None}
    everyone = api.client.get("/v2/app_clients", headers=owner.headers).json()["app_clients"]
    assert [c["name"] for c in everyone] == [
        "owner client",
        "alpha-1",
        "alpha-2",
        "beta",
        "alpha-3",
    ]


def test_update_changes_only_the_given_fields(api: Api, owner: Caller) -> None:
    body = create(api, owner, name="svc", api_roles=["viewer"])
    response = api.client.patch(
        f"/v2/app_clients/{body['id']}",
        json={
            "description": "new",
            "api_roles": ["viewer", "corpus_developer"],
            "token_lifetime_seconds": 3600,
            "enabled": None,
            "agent_roles": [],
        },
        headers=owner.headers,
    )
    assert response.status_code == 200
    expected = {k: v for k, v in body.items() if k != "client_secret"}
    assert response.json() == {
        **expected,
        "description": "new",
        "api_roles": ["viewer", "corpus_developer"],
        "token_lifetime_seconds": 3600,
    }


def test_delete_then_404_and_its_secret_stops_working(api: Api, owner: Caller) -> None:
    body = create(api, owner, name="svc")
    target = f"/v2/app_clients/{body['id']}"
    assert api.client.delete(target, headers=owner.headers).status_code == 204
    missing = api.client.get(target, headers=owner.headers)
    assert missing.status_code == 404
    error_body(missing, f"app client {body['id']} not found", id=body["id"])
    assert api.client.delete(target, headers=owner.headers).status_code == 404
    assert token_status(api, body["client_id"], body["client_secret"]) == 401


def test_rotate_secret_without_grace_retires_the_old_secret_at_once(
    api: Api, owner: Caller
) -> None:
    body = create(api, owner, name="svc")
    rotated = api.client.post(f"/v2/app_clients/{body['id']}/rotate_secret", headers=owner.headers)
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["client_secret"] != body["client_secret"]
    assert {k: v for k, v in new.items() if k != "client_secret"} == {
        k: v for k, v in body.items() if k != "client_secret"
    }
    assert token_status(api, body["client_id"], new["client_secret"]) == 200
    assert token_status(api, body["client_id"], body["client_secret"]) == 401


def test_rotate_secret_with_grace_keeps_the_old_secret_working(api: Api, owner: Caller) -> None:
    body = create(api, owner, name="svc")
    rotated = api.client.post(
        f"/v2/app_clients/{body['id']}/rotate_secret",
        json={"grace_period_seconds": 3600},
        headers=owner.headers,
    )
    assert rotated.status_code == 200
    assert token_status(api, body["client_id"], rotated.json()["client_secret"]) == 200
    assert token_status(api, body["client_id"], body["client_secret"]) == 200


@pytest.mark.parametrize(
    ("body", "field_errors"),
    [
        ({}, {"name": "Field required"}),
        ({"name": ""}, {"name": "String should have at least 1 character"}),
        (
            {"name": "x", "type": "authorization_code"},
            {"type": "Input should be 'client_credentials'"},
        ),
        (
            {"name": "x", "api_roles": ["superuser"]},
            {
                "api_roles": "unknown role 'superuser'; one of owner, administrator, "
                "billing_administrator, corpus_administrator, corpus_developer, viewer"
            },
        ),
        ({"name": "x", "api_roles": "owner"}, {"api_roles": "Input should be a valid list"}),
        (
            {"name": "x", "token_lifetime_seconds": 10},
            {"token_lifetime_seconds": "Input should be greater than or equal to 300"},
        ),
        (
            {"name": "x", "corpus_roles": [{"corpus_key": "docs"}]},
            {"corpus_roles.0.role": "Field required"},
        ),
        (
            {"name": "x", "corpus_roles": [{"corpus_key": "no such", "role": "owner"}]},
            {"corpus_roles.0.corpus_key": "String should match pattern '^[a-zA-Z0-9_=-]{1,50}$'"},
        ),
        ({"name": "x", "corpus_roles": [{"corpus_key": "nope", "role": "owner"}]}, None),
    ],
)
def test_bad_create_body_is_400_with_field_errors(
    api: Api, owner: Caller, body: dict[str, Any], field_errors: dict[str, str] | None
) -> None:
    response = api.client.post("/v2/app_clients", json=body, headers=owner.headers)
    assert response.status_code == 400
    expected = field_errors or {"corpus_roles": "no corpus with key nope"}
    error_body(response, "The request is invalid", field_errors=expected)


def test_bad_corpus_role_name_is_400(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "docs")
    response = api.client.post(
        "/v2/app_clients",
        json={"name": "x", "corpus_roles": [{"corpus_key": "docs", "role": "god"}]},
        headers=owner.headers,
    )
    assert response.status_code == 400
    error_body(
        response,
        "The request is invalid",
        field_errors={
            "corpus_roles": "unknown corpus role 'god'; one of owner, administrator, editor, viewer"
        },
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grace_period_seconds": -1}, "grace_period_seconds"),
        ({"grace_period_seconds": 7 * 86400 + 1}, "grace_period_seconds"),
        ({"grace_period_seconds": "soon"}, "grace_period_seconds"),
    ],
)
def test_bad_rotate_body_is_400(api: Api, owner: Caller, body: dict[str, Any], field: str) -> None:
    created = create(api, owner, name="svc")
    response = api.client.post(
        f"/v2/app_clients/{created['id']}/rotate_secret", json=body, headers=owner.headers
    )
    assert response.status_code == 400
    assert list(response.json()["field_errors"]) == [field]
    # The secret was not rotated.
    assert token_status(api, created["client_id"], created["client_secret"]) == 200


def test_show_once_mode_never_returns_a_stored_secret(api: Api, owner: Caller) -> None:
    created = create(api, owner, name="svc")
    record = api.runtime.store.get_client(app_id=created["id"])
    with api.runtime.store.engine.begin() as conn:
        conn.execute(
            t.app_clients.update().where(t.app_clients.c.id == record.id).values(secret_sealed=None)
        )
    got = api.client.get(f"/v2/app_clients/{created['id']}", headers=owner.headers)
    assert got.json()["client_secret"] is None
