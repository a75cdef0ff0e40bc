"""SPEC §1's permission table, one test per row (and per side of each row), and isolation
between customers."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, Caller, error_body

CREATORS = ["owner", "administrator", "corpus_administrator", "corpus_developer"]
NON_CREATORS = ["billing_administrator", "viewer"]
MANAGERS = ["owner", "administrator", "corpus_administrator"]


def keys(response_json: dict[str, object]) -> list[str]:
    corpora = response_json["corpora"]
    assert isinstance(corpora, list)
    return [c["key"] for c in corpora]


# -- list / get corpora: any token; everything with an account role, else its corpus roles ---------


@pytest.mark.parametrize("role", ["viewer", "billing_administrator", "corpus_developer"])
def test_any_account_role_lists_and_gets_every_corpus(api: Api, owner: Caller, role: str) -> None:
    api.create_corpus(owner, "alpha")
    api.create_corpus(owner, "beta")
    caller = api.caller(role)
    assert keys(api.client.get("/v2/corpora", headers=caller.headers).json()) == ["alpha", "beta"]
    assert api.client.get("/v2/corpora/beta", headers=caller.headers).status_code == 200


def test_token_without_account_role_sees_only_corpora_with_a_corpus_role(
    api: Api, owner: Caller
) -> None:
    api.create_corpus(owner, "alpha")
    api.create_corpus(owner, "beta")
    caller = api.caller(corpus_roles=({"corpus_key": "beta", "role": "viewer"},))
    assert keys(api.client.get("/v2/corpora", headers=caller.headers).json()) == ["beta"]
    assert api.client.get("/v2/corpora/beta", headers=caller.headers).status_code == 200
    hidden = api.client.get("/v2/corpora/alpha", headers=caller.headers)
    assert hidden.status_code == 404
    error_body(hidden, "corpus alpha not found", id="alpha")


def test_token_without_any_role_sees_no_corpus(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "alpha")
    nobody = api.caller()
    assert api.client.get("/v2/corpora", headers=nobody.headers).json() == {
        "corpora": [],
        "metadata": {"page_key": None},
    }


# -- create corpus --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", CREATORS)
def test_creator_roles_can_create_a_corpus(api: Api, role: str) -> None:
    caller = api.caller(role)
    response = api.client.post("/v2/corpora", json={"key": "docs"}, headers=caller.headers)
    assert response.status_code == 201


@pytest.mark.parametrize("role", NON_CREATORS)
def test_other_roles_get_403_on_create(api: Api, role: str) -> None:
    caller = api.caller(role)
    response = api.client.post("/v2/corpora", json={"key": "docs"}, headers=caller.headers)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_corpus_role_alone_cannot_create_a_corpus(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "docs")
    caller = api.caller(corpus_roles=({"corpus_key": "docs", "role": "owner"},))
    response = api.client.post("/v2/corpora", json={"key": "more"}, headers=caller.headers)
    assert response.status_code == 403


def test_creating_client_gets_corpus_role_owner(api: Api) -> None:
    developer = api.caller("corpus_developer")
    api.create_corpus(developer, "mine")
    record = api.runtime.store.get_client(app_id=developer.record.id)
    assert [(r.corpus_key, r.role) for r in record.corpus_roles] == [("mine", "owner")]


# -- update / delete corpus -----------------------------------------------------------------------


@pytest.mark.parametrize("role", MANAGERS)
def test_manager_roles_update_and_delete_any_corpus(api: Api, owner: Caller, role: str) -> None:
    api.create_corpus(owner, "docs")
    caller = api.caller(role)
    update = api.client.patch("/v2/corpora/docs", json={"name": "Docs"}, headers=caller.headers)
    assert update.status_code == 200
    assert update.json()["name"] == "Docs"
    assert api.client.delete("/v2/corpora/docs", headers=caller.headers).status_code == 204


def test_corpus_developer_updates_and_deletes_its_own_corpus(api: Api) -> None:
    developer = api.caller("corpus_developer")
    api.create_corpus(developer, "mine")
    # The corpus role "owner" was granted after the token was issued: it applies at once.
    update = api.client.patch(
        "/v2/corpora/mine", json={"enabled": False}, headers=developer.headers
    )
    assert update.status_code == 200
    assert update.json()["enabled"] is False
    assert api.client.delete("/v2/corpora/mine", headers=developer.headers).status_code == 204


def test_corpus_developer_cannot_change_another_clients_corpus(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "theirs")
    developer = api.caller("corpus_developer")
    response = api.client.patch("/v2/corpora/theirs", json={"name": "x"}, headers=developer.headers)
    assert response.status_code == 403
    assert api.client.delete("/v2/corpora/theirs", headers=developer.headers).status_code == 403


@pytest.mark.parametrize("corpus_role", ["owner", "administrator"])
def test_corpus_role_owner_or_administrator_can_update_that_corpus(
    api: Api, owner: Caller, corpus_role: str
) -> None:
    api.create_corpus(owner, "docs")
    api.create_corpus(owner, "other")
    caller = api.caller(corpus_roles=({"corpus_key": "docs", "role": corpus_role},))
    response = api.client.patch("/v2/corpora/docs", json={"name": "Docs"}, headers=caller.headers)
    assert response.status_code == 200
    # ... and no other corpus, which it cannot even see.
    assert api.client.patch("/v2/corpora/other", json={}, headers=caller.headers).status_code == 404
    assert api.client.delete("/v2/corpora/docs", headers=caller.headers).status_code == 204


@pytest.mark.parametrize("corpus_role", ["editor", "viewer"])
def test_corpus_role_editor_or_viewer_cannot_update_that_corpus(
    api: Api, owner: Caller, corpus_role: str
) -> None:
    api.create_corpus(owner, "docs")
    caller = api.caller(corpus_roles=({"corpus_key": "docs", "role": corpus_role},))
    response = api.client.patch("/v2/corpora/docs", json={"name": "x"}, headers=caller.headers)
    assert response.status_code == 403
    assert api.client.delete("/v2/corpora/docs", headers=caller.headers).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "corpus_developer", "billing_administrator"])
def test_account_roles_below_manager_cannot_update_others_corpora(
    api: Api, owner: Caller, role: str
) -> None:
    api.create_corpus(owner, "docs")
    caller = api.caller(role)
    assert api.client.patch("/v2/corpora/docs", json={}, headers=caller.headers).status_code == 403


def test_deleting_a_corpus_drops_its_roles_so_a_new_one_inherits_none(api: Api) -> None:
    developer = api.caller("corpus_developer")
    api.create_corpus(developer, "mine")
    reader = api.caller(corpus_roles=({"corpus_key": "mine", "role": "viewer"},))
    assert api.client.delete("/v2/corpora/mine", headers=developer.headers).status_code == 204
    other = api.caller("corpus_administrator")
    api.create_corpus(other, "mine")
    assert api.client.get("/v2/corpora/mine", headers=reader.headers).status_code == 404
    patch = api.client.patch("/v2/corpora/mine", json={"name": "x"}, headers=developer.headers)
    assert patch.status_code == 403


# -- app clients: owner and administrator only; only an owner grants owner -------------------------


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_owner_and_administrator_list_read_and_manage_app_clients(api: Api, role: str) -> None:
    caller = api.caller(role)
    assert api.client.get("/v2/app_clients", headers=caller.headers).status_code == 200
    created = api.client.post(
        "/v2/app_clients", json={"name": "svc", "api_roles": ["viewer"]}, headers=caller.headers
    )
    assert created.status_code == 201
    app_id = created.json()["id"]
    assert api.client.get(f"/v2/app_clients/{app_id}", headers=caller.headers).status_code == 200
    patch = api.client.patch(
        f"/v2/app_clients/{app_id}", json={"description": "d"}, headers=caller.headers
    )
    assert patch.status_code == 200
    assert api.client.delete(f"/v2/app_clients/{app_id}", headers=caller.headers).status_code == 204


@pytest.mark.parametrize(
    "role", ["billing_administrator", "corpus_administrator", "corpus_developer", "viewer"]
)
def test_other_roles_get_403_on_every_app_client_route(api: Api, owner: Caller, role: str) -> None:
    caller = api.caller(role)
    target = f"/v2/app_clients/{owner.record.id}"
    calls = [
        api.client.get("/v2/app_clients", headers=caller.headers),
        api.client.post("/v2/app_clients", json={"name": "x"}, headers=caller.headers),
        api.client.get(target, headers=caller.headers),
        api.client.patch(target, json={"description": "x"}, headers=caller.headers),
        api.client.delete(target, headers=caller.headers),
        api.client.post(f"{target}/rotate_secret", headers=caller.headers),
        api.client.post(f"{target}/revoke_tokens", headers=caller.headers),
    ]
    assert [r.status_code for r in calls] == [403] * len(calls)
    assert all('error="insufficient_scope"' in r.headers["www-authenticate"] for r in calls)


def test_only_an_owner_may_grant_owner(api: Api, owner: Caller) -> None:
    admin = api.caller("administrator")
    denied = api.client.post(
        "/v2/app_clients", json={"name": "x", "api_roles": ["owner"]}, headers=admin.headers
    )
    assert denied.status_code == 403
    error_body(denied, "granting the owner role requires one of the roles: owner")
    svc = api.caller("viewer")
    upgrade = api.client.patch(
        f"/v2/app_clients/{svc.record.id}", json={"api_roles": ["owner"]}, headers=admin.headers
    )
    assert upgrade.status_code == 403
    granted = api.client.post(
        "/v2/app_clients", json={"name": "x", "api_roles": ["owner"]}, headers=owner.headers
    )
    assert granted.status_code == 201


def test_administrator_reads_but_cannot_change_an_owner_client(api: Api, owner: Caller) -> None:
    admin = api.caller("administrator")
    target = f"/v2/app_clients/{owner.record.id}"
    read = api.client.get(target, headers=admin.headers)
    assert read.status_code == 200
    assert read.json()["client_secret"] is None
    for response in (
        api.client.patch(target, json={"description": "x"}, headers=admin.headers),
        api.client.post(f"{target}/rotate_secret", headers=admin.headers),
        api.client.post(f"{target}/revoke_tokens", headers=admin.headers),
        api.client.delete(target, headers=admin.headers),
    ):
        assert response.status_code == 403


# -- customers never see each other's data ---------------------------------------------------------


def test_another_customers_token_sees_nothing_of_this_one(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "secret-plans")
    api.customer("globex")
    foreign = api.caller("owner", customer_id="globex")
    listing = api.client.get("/v2/corpora", headers=foreign.headers)
    assert listing.json() == {"corpora": [], "metadata": {"page_key": None}}
    assert api.client.get("/v2/corpora/secret-plans", headers=foreign.headers).status_code == 404
    assert (
        api.client.patch(
            "/v2/corpora/secret-plans", json={"name": "x"}, headers=foreign.headers
        ).status_code
        == 404
    )
    assert api.client.delete("/v2/corpora/secret-plans", headers=foreign.headers).status_code == 404
    clients = api.client.get("/v2/app_clients", headers=foreign.headers).json()["app_clients"]
    assert [c["id"] for c in clients] == [foreign.record.id]
    target = f"/v2/app_clients/{owner.record.id}"
    assert api.client.get(target, headers=foreign.headers).status_code == 404
    assert api.client.delete(target, headers=foreign.headers).status_code == 404
    assert api.client.post(f"{target}/revoke_tokens", headers=foreign.headers).status_code == 404
    v1 = api.client.post("/v1/list-corpora", json={"numResults": 10}, headers=foreign.headers)
    assert v1.json()["corpus"] == []
    # The corpus and the owner's token are untouched.
    assert api.client.get("/v2/corpora/secret-plans", headers=owner.headers).status_code == 200


def test_409_never_reveals_another_customers_key(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "shared-name")
    api.customer("globex")
    foreign = api.caller("owner", customer_id="globex")
    # The same key is free for another customer ...
    created = api.client.post("/v2/corpora", json={"key": "shared-name"}, headers=foreign.headers)
    assert created.status_code == 201
    # ... and a 409 only ever concerns the caller's own corpora.
    again = api.client.post("/v2/corpora", json={"key": "shared-name"}, headers=foreign.headers)
    assert again.status_code == 409
    error_body(again, "A corpus with key shared-name already exists")


def test_granting_a_role_on_another_customers_corpus_is_refused(api: Api, owner: Caller) -> None:
    api.create_corpus(owner, "acme-only")
    api.customer("globex")
    foreign = api.caller("owner", customer_id="globex")
    response = api.client.post(
        "/v2/app_clients",
        json={"name": "x", "corpus_roles": [{"corpus_key": "acme-only", "role": "owner"}]},
        headers=foreign.headers,
    )
    assert response.status_code == 400
    error_body(
        response,
        "The request is invalid",
        field_errors={"corpus_roles": "no corpus with key acme-only"},
    )
