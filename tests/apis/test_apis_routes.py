"""``/v2/apis`` and ``/v2/app_clients/{id}/grants``: shapes, rules, and who may use them."""

from __future__ import annotations

import pytest

from tests.apis.conftest import PAYMENT_SCOPES, PAYMENTS, Api, Caller, Registry, error_body

API_FIELDS = {
    "id",
    "identifier",
    "name",
    "description",
    "scopes",
    "token_lifetime_seconds",
    "builtin",
    "created_at",
    "updated_at",
}


def test_every_customer_has_the_built_in_api_first(api: Api, owner: Caller) -> None:
    response = api.client.get("/v2/apis", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["metadata"] == {"page_key": None}
    [builtin] = body["apis"]
    assert set(builtin) == API_FIELDS
    assert builtin["identifier"] == "http://testserver"
    assert builtin["builtin"] is True
    assert builtin["token_lifetime_seconds"] is None
    assert [s["value"] for s in builtin["scopes"]] == [
        "owner",
        "administrator",
        "billing_administrator",
        "corpus_administrator",
        "corpus_developer",
        "viewer",
    ]


def test_register_get_patch_delete(registry: Registry, api: Api, owner: Caller) -> None:
    created = registry.register(description="money", token_lifetime_seconds=600)
    assert set(created) == API_FIELDS
    assert created["id"].startswith("api_")
    assert created["identifier"] == PAYMENTS
    assert created["scopes"] == PAYMENT_SCOPES
    assert created["builtin"] is False
    url = f"/v2/apis/{created['id']}"
    assert api.client.get(url, headers=owner.headers).json() == created
    patched = api.client.patch(
        url, json={"name": "Payments v2", "scopes": PAYMENT_SCOPES[:2]}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Payments v2"
    assert [s["value"] for s in patched.json()["scopes"]] == ["payments:read", "payments:write"]
    assert patched.json()["token_lifetime_seconds"] == 600
    listed = api.client.get("/v2/apis", headers=owner.headers).json()["apis"]
    assert [a["identifier"] for a in listed] == ["http://testserver", PAYMENTS]
    assert api.client.delete(url, headers=owner.headers).status_code == 204
    missing = api.client.get(url, headers=owner.headers)
    assert missing.status_code == 404
    error_body(missing, f"API {created['id']} not found", id=created["id"])


def test_identifier_is_unique_per_customer_scheme_and_host_case_insensitive(
    registry: Registry, api: Api, owner: Caller
) -> None:
    registry.register()
    for identifier in (PAYMENTS, "HTTPS://Payments.EXAMPLE/api"):
        response = api.client.post(
            "/v2/apis", json={"identifier": identifier, "name": "again"}, headers=owner.headers
        )
        assert response.status_code == 409
        error_body(response, f"An API with identifier {identifier} already exists")
    # The path is compared exactly: another API.
    registry.register("https://payments.example/API")
    # Another customer may use the same identifier.
    api.customer("other")
    other = api.caller("owner", customer_id="other")
    response = api.client.post(
        "/v2/apis", json={"identifier": PAYMENTS, "name": "theirs"}, headers=other.headers
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ("payments", "must be an absolute URI without a fragment"),
        ("https://payments.example/#x", "must be an absolute URI without a fragment"),
        ("https:///path", "must name a host"),
        ("https://a b", "must be 1 to 255 printable characters without spaces"),
        ("http://testserver", "is the built-in API's identifier"),
        ("HTTP://TestServer", "is the built-in API's identifier"),
    ],
)
def test_bad_identifiers_are_400(api: Api, owner: Caller, identifier: str, problem: str) -> None:
    response = api.client.post(
        "/v2/apis", json={"identifier": identifier, "name": "x"}, headers=owner.headers
    )
    assert response.status_code == 400
    error_body(response, "The request is invalid", field_errors={"identifier": problem})


def test_bad_scope_is_400(api: Api, owner: Caller) -> None:
    response = api.client.post(
        "/v2/apis",
        json={"identifier": PAYMENTS, "name": "x", "scopes": [{"value": 'a"b'}]},
        headers=owner.headers,
    )
    assert response.status_code == 400
    assert "scopes" in response.json()["field_errors"]


def test_built_in_api_can_be_renamed_not_deleted_nor_given_scopes(api: Api, owner: Caller) -> None:
    builtin = api.client.get("/v2/apis", headers=owner.headers).json()["apis"][0]
    url = f"/v2/apis/{builtin['id']}"
    renamed = api.client.patch(url, json={"name": "Corpora API"}, headers=owner.headers)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Corpora API"
    assert renamed.json()["identifier"] == "http://testserver"
    response = api.client.patch(url, json={"scopes": []}, headers=owner.headers)
    assert response.status_code == 400
    error_body(
        response,
        "The request is invalid",
        field_errors={"scopes": "cannot be changed on the built-in API"},
    )
    response = api.client.delete(url, headers=owner.headers)
    assert response.status_code == 400
    error_body(
        response,
        "The request is invalid",
        field_errors={"api_id": "the built-in API cannot be deleted"},
    )


@pytest.mark.parametrize("role", ["viewer", "corpus_administrator", "billing_administrator"])
def test_only_owner_and_administrator_manage_apis_and_grants(
    registry: Registry, api: Api, role: str
) -> None:
    created = registry.register()
    other = api.caller(role)
    target = api.caller("viewer")
    h = other.headers
    grants = f"/v2/app_clients/{target.record.id}/grants"
    for response in (
        api.client.get("/v2/apis", headers=h),
        api.client.post(
            "/v2/apis", json={"identifier": "https://x.example", "name": "x"}, headers=h
        ),
        api.client.get(f"/v2/apis/{created['id']}", headers=h),
        api.client.patch(f"/v2/apis/{created['id']}", json={"name": "y"}, headers=h),
        api.client.delete(f"/v2/apis/{created['id']}", headers=h),
        api.client.get(grants, headers=h),
        api.client.put(f"{grants}/{created['id']}", json={"scopes": ["payments:read"]}, headers=h),
        api.client.delete(f"{grants}/{created['id']}", headers=h),
    ):
        assert response.status_code == 403, response.text
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    admin = api.caller("administrator")
    assert api.client.get("/v2/apis", headers=admin.headers).status_code == 200


def test_grants_list_put_delete(registry: Registry, api: Api, owner: Caller) -> None:
    created = registry.register()
    client = api.caller("viewer", "corpus_developer")
    url = f"/v2/app_clients/{client.record.id}/grants"
    builtin_id = api.client.get("/v2/apis", headers=owner.headers).json()["apis"][0]["id"]
    assert api.client.get(url, headers=owner.headers).json() == {
        "grants": [
            {
                "api_id": builtin_id,
                "api_identifier": "http://testserver",
                "scopes": ["viewer", "corpus_developer"],
            }
        ]
    }
    granted = registry.grant(client.record.id, created["id"], "payments:read", "payments:write")
    assert granted == {
        "api_id": created["id"],
        "api_identifier": PAYMENTS,
        "scopes": ["payments:read", "payments:write"],
    }
    assert api.client.get(url, headers=owner.headers).json()["grants"][1] == granted
    # Replaced whole.
    assert registry.grant(client.record.id, created["id"], "payments:refund")["scopes"] == [
        "payments:refund"
    ]
    response = api.client.put(
        f"{url}/{created['id']}", json={"scopes": ["payments:steal"]}, headers=owner.headers
    )
    assert response.status_code == 400
    assert response.json()["field_errors"] == {
        "scopes": "'payments:steal' is not a scope of Payments"
    }
    assert api.client.delete(f"{url}/{created['id']}", headers=owner.headers).status_code == 204
    again = api.client.delete(f"{url}/{created['id']}", headers=owner.headers)
    assert again.status_code == 404
    assert len(api.client.get(url, headers=owner.headers).json()["grants"]) == 1


def test_put_on_the_built_in_api_sets_the_roles_and_only_an_owner_grants_owner(
    api: Api, owner: Caller
) -> None:
    client = api.caller("viewer")
    builtin_id = api.client.get("/v2/apis", headers=owner.headers).json()["apis"][0]["id"]
    url = f"/v2/app_clients/{client.record.id}/grants/{builtin_id}"
    response = api.client.put(url, json={"scopes": ["corpus_developer"]}, headers=owner.headers)
    assert response.status_code == 200, response.text
    view = api.client.get(f"/v2/app_clients/{client.record.id}", headers=owner.headers).json()
    assert view["api_roles"] == ["corpus_developer"]
    admin = api.caller("administrator")
    response = api.client.put(url, json={"scopes": ["owner"]}, headers=admin.headers)
    assert response.status_code == 403
    response = api.client.delete(url, headers=owner.headers)
    assert response.status_code == 400


def test_grants_of_another_customers_client_or_api_are_404(
    registry: Registry, api: Api, owner: Caller
) -> None:
    created = registry.register()
    api.customer("other")
    theirs = api.caller("owner", customer_id="other")
    mine = api.caller("viewer")
    response = api.client.get(f"/v2/app_clients/{mine.record.id}/grants", headers=theirs.headers)
    assert response.status_code == 404
    response = api.client.put(
        f"/v2/app_clients/{theirs.record.id}/grants/{created['id']}",
        json={"scopes": ["payments:read"]},
        headers=theirs.headers,
    )
    assert response.status_code == 404
    error_body(response, f"API {created['id']} not found", id=created["id"])


def test_removing_a_scope_from_an_api_removes_it_from_its_grants(
    registry: Registry, api: Api, owner: Caller
) -> None:
    created = registry.register()
    client = api.caller("viewer")
    registry.grant(client.record.id, created["id"], "payments:read", "payments:refund")
    api.client.patch(
        f"/v2/apis/{created['id']}", json={"scopes": PAYMENT_SCOPES[:2]}, headers=owner.headers
    )
    grants = api.client.get(f"/v2/app_clients/{client.record.id}/grants", headers=owner.headers)
    assert grants.json()["grants"][1]["scopes"] == ["payments:read"]


def test_changes_are_audited(registry: Registry, api: Api, owner: Caller) -> None:
    created = registry.register()
    client = api.caller("viewer")
    registry.grant(client.record.id, created["id"], "payments:read")
    events = api.runtime.store.list_audit(customer_id="acme")
    actions = [e.action for e in events]
    assert "api.create" in actions
    assert "grant.put" in actions
    grant = next(e for e in events if e.action == "grant.put")
    assert grant.detail["api"] == PAYMENTS
    assert grant.detail["scopes"] == ["payments:read"]
