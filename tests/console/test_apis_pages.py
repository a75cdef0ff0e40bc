"""The console's APIs tab and an app client's grants page: register, grant, remove, delete."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.store.apis import ApiStore
from tests.console.conftest import sign_in
from tests.factories import add_client


def test_register_an_api_grant_a_client_and_get_its_token(
    client: TestClient, owner: str, runtime: Runtime
) -> None:
    tab = client.get("/console/apiAccess/apis")
    assert tab.status_code == 200
    assert '<a href="/console/apiAccess/apis" aria-current="page">APIs</a>' in tab.text
    assert "<code>http://testserver</code>" in tab.text  # the built-in API
    created = client.post(
        "/console/apiAccess/apis",
        data={
            "csrf_token": owner,
            "identifier": "https://payments.example",
            "name": "Payments",
            "description": "",
            "scopes": "payments:read Read payments\npayments:write\n",
            "lifetime": "600",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    listed = client.get(created.headers["location"])
    assert "API registered." in listed.text
    assert '<span class="badge" title="Read payments">payments:read</span>' in listed.text
    assert "600 s" in listed.text
    api = next(
        a for a in ApiStore(runtime.store.engine).list_apis(customer_id="acme") if not a.builtin
    )
    assert [s.value for s in api.scopes] == ["payments:read", "payments:write"]

    record, secret = add_client(runtime, "acme", roles=("viewer",), name="shop")
    clients = client.get("/console/apiAccess/appClients")
    assert f'href="/console/apiAccess/appClients/{record.id}/grants"' in clients.text
    page = client.get(f"/console/apiAccess/appClients/{record.id}/grants")
    assert page.status_code == 200
    assert "Grants of “shop”" in page.text
    assert '<span class="badge">viewer</span>' in page.text
    saved = client.post(
        f"/console/apiAccess/appClients/{record.id}/grants/{api.id}",
        data={"csrf_token": owner, "scopes": ["payments:read"]},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = client.get(saved.headers["location"])
    assert "Grant saved." in after.text
    assert 'value="payments:read" checked' in after.text
    assert 'value="payments:write">' in after.text
    token = client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": record.client_id,
            "client_secret": secret,
            "resource": "https://payments.example",
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "payments:read"
    assert token.json()["expires_in"] == 600

    # No scope ticked removes the grant.
    removed = client.post(
        f"/console/apiAccess/appClients/{record.id}/grants/{api.id}",
        data={"csrf_token": owner},
        follow_redirects=False,
    )
    assert "Grant removed." in client.get(removed.headers["location"]).text
    assert ApiStore(runtime.store.engine).list_grants(app_id=record.id) == []

    question = client.post(f"/console/apiAccess/apis/{api.id}/delete", data={"csrf_token": owner})
    assert "Delete “Payments”?" in question.text
    deleted = client.post(
        f"/console/apiAccess/apis/{api.id}/delete",
        data={"csrf_token": owner, "confirm": "yes"},
        follow_redirects=False,
    )
    assert "API deleted" in client.get(deleted.headers["location"]).text
    assert len(ApiStore(runtime.store.engine).list_apis(customer_id="acme")) == 1


def test_bad_input_is_shown_on_the_form(client: TestClient, owner: str) -> None:
    response = client.post(
        "/console/apiAccess/apis",
        data={"csrf_token": owner, "identifier": "payments", "name": "P", "scopes": ""},
    )
    assert response.status_code == 400
    assert "must be an absolute URI without a fragment" in response.text
    assert 'value="payments"' in response.text
    taken = client.post(
        "/console/apiAccess/apis",
        data={"csrf_token": owner, "identifier": "http://testserver", "name": "P"},
    )
    assert taken.status_code == 400
    assert "is the built-in API&#39;s identifier" in taken.text


def test_an_administrator_cannot_change_an_owner_clients_grants(
    client: TestClient, make_user: Callable[..., str], runtime: Runtime, owner: str
) -> None:
    client.post(
        "/console/apiAccess/apis",
        data={"csrf_token": owner, "identifier": "https://p.example", "name": "P", "scopes": "a"},
    )
    api = next(
        a for a in ApiStore(runtime.store.engine).list_apis(customer_id="acme") if not a.builtin
    )
    record, _ = add_client(runtime, "acme", roles=("owner",), name="root")
    client.cookies.clear()
    admin = sign_in(client, make_user("admin@acme.test", role="administrator"))
    page = client.get(f"/console/apiAccess/appClients/{record.id}/grants")
    assert "Only an owner may change the grants" in page.text
    refused = client.post(
        f"/console/apiAccess/appClients/{record.id}/grants/{api.id}",
        data={"csrf_token": admin, "scopes": ["a"]},
    )
    assert refused.status_code == 403
