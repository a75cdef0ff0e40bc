"""The API and grant service on SQLite and PostgreSQL: each write lands with its audit row and
tells the notifier once; a refused write changes nothing, audits nothing, notifies no one."""

from __future__ import annotations

import pytest

from gatehouse.apis import Apis
from gatehouse.appclients import Actor
from gatehouse.errors import ApiError, InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.services import apis as api_service
from gatehouse.services.apis import ApiChanges
from gatehouse.store.apis import ApiRecord, ApiScope
from gatehouse.store.models import AppClientRecord
from gatehouse.store.store import Conflict, NotFound, Store
from tests.factories import TEST_ACTOR
from tests.services.conftest import Counting, actions, audit_of, make_client

BUILTIN = "https://gatehouse.example/v2"


@pytest.fixture
def ctx(store: Store) -> Apis:
    return Apis.of(store, BUILTIN)


def _api(ctx: Apis, notifier: Counting) -> ApiRecord:
    return api_service.create_api(
        ctx,
        customer_id="acme",
        identifier="https://payments.example/",
        name="Payments",
        scopes=["read", ApiScope("write", "Change")],
        actor=TEST_ACTOR,
        notify=notifier,
    )


def _client(store: Store, master_key: MasterKey) -> AppClientRecord:
    return make_client(store, master_key, name="caller")


def test_create_writes_the_api_with_its_audit_row_and_notifies_once(
    ctx: Apis, notifier: Counting
) -> None:
    record = _api(ctx, notifier)
    assert notifier.count == 1
    assert ctx.apis.get_api(customer_id="acme", api_id=record.id) == record
    [event] = audit_of(ctx.store)
    assert (event.action, event.target, event.detail) == (
        "api.create",
        record.id,
        {"identifier": "https://payments.example/", "scopes": ["read", "write"]},
    )


def test_a_refused_or_conflicting_create_writes_and_notifies_nothing(
    ctx: Apis, notifier: Counting
) -> None:
    _api(ctx, notifier)
    with pytest.raises(Conflict):
        _api(ctx, notifier)
    with pytest.raises(InvalidInput):
        api_service.create_api(
            ctx,
            customer_id="acme",
            identifier=BUILTIN,
            name="the built-in one again",
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 1
    assert actions(ctx.store) == ["api.create"]
    assert len(ctx.apis.list_apis(customer_id="acme")) == 2  # the built-in API and Payments


def test_update_audits_the_changed_fields_and_notifies_once(ctx: Apis, notifier: Counting) -> None:
    record = _api(ctx, notifier)
    updated = api_service.update_api(
        ctx,
        customer_id="acme",
        api_id=record.id,
        changes=ApiChanges(name="Pay", scopes=["read"], token_lifetime_seconds=600),
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 2
    assert (updated.name, updated.scopes, updated.token_lifetime_seconds) == (
        "Pay",
        (ApiScope("read"),),
        600,
    )
    event = audit_of(ctx.store)[-1]
    assert (event.action, event.detail) == (
        "api.update",
        {"fields": ["name", "scopes", "token_lifetime_seconds"]},
    )
    # Nothing to change: nothing written, nobody told.
    assert api_service.update_api(
        ctx,
        customer_id="acme",
        api_id=record.id,
        changes=ApiChanges(),
        actor=TEST_ACTOR,
        notify=notifier,
    ) == ctx.apis.get_api(customer_id="acme", api_id=record.id)
    assert notifier.count == 2


def test_the_builtin_api_takes_a_name_and_a_description_only(ctx: Apis, notifier: Counting) -> None:
    builtin = ctx.apis.builtin_api(customer_id="acme")
    for changes, field in (
        (ApiChanges(scopes=["x"]), "scopes"),
        (ApiChanges(token_lifetime_seconds=600), "token_lifetime_seconds"),
    ):
        with pytest.raises(InvalidInput) as refused:
            api_service.update_api(
                ctx,
                customer_id="acme",
                api_id=builtin.id,
                changes=changes,
                actor=TEST_ACTOR,
                notify=notifier,
            )
        assert refused.value.field_errors == {field: "cannot be changed on the built-in API"}
    with pytest.raises(InvalidInput):
        api_service.delete_api(
            ctx, customer_id="acme", api_id=builtin.id, actor=TEST_ACTOR, notify=notifier
        )
    assert notifier.count == 0
    assert audit_of(ctx.store) == []
    renamed = api_service.update_api(
        ctx,
        customer_id="acme",
        api_id=builtin.id,
        changes=ApiChanges(name="Ours"),
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert renamed.name == "Ours"
    assert notifier.count == 1


def test_delete_audits_and_notifies_once(ctx: Apis, notifier: Counting) -> None:
    record = _api(ctx, notifier)
    api_service.delete_api(
        ctx, customer_id="acme", api_id=record.id, actor=TEST_ACTOR, notify=notifier
    )
    assert notifier.count == 2
    with pytest.raises(NotFound):
        ctx.apis.get_api(customer_id="acme", api_id=record.id)
    assert audit_of(ctx.store)[-1].detail == {"identifier": "https://payments.example/"}
    with pytest.raises(NotFound):
        api_service.delete_api(
            ctx, customer_id="acme", api_id=record.id, actor=TEST_ACTOR, notify=notifier
        )
    assert notifier.count == 2


def test_put_and_delete_grant_audit_and_notify_once_each(
    ctx: Apis, master_key: MasterKey, notifier: Counting
) -> None:
    api = _api(ctx, notifier)
    client = _client(ctx.store, master_key)
    scopes = api_service.put_grant(
        ctx, client=client, api=api, scopes=["read", "read"], actor=TEST_ACTOR, notify=notifier
    )
    assert scopes == ("read",)
    assert notifier.count == 2
    [grant] = ctx.apis.list_grants(app_id=client.id)
    assert grant.scopes == ("read",)
    event = audit_of(ctx.store)[-1]
    assert (event.action, event.target, event.detail) == (
        "grant.put",
        client.id,
        {
            "client_id": client.client_id,
            "api_id": api.id,
            "api": api.identifier,
            "scopes": ["read"],
        },
    )
    api_service.delete_grant(ctx, client=client, api=api, actor=TEST_ACTOR, notify=notifier)
    assert notifier.count == 3
    assert ctx.apis.list_grants(app_id=client.id) == []
    assert actions(ctx.store)[-1] == "grant.delete"
    with pytest.raises(NotFound):
        api_service.delete_grant(ctx, client=client, api=api, actor=TEST_ACTOR, notify=notifier)
    assert notifier.count == 3


def test_a_refused_grant_writes_and_notifies_nothing(
    ctx: Apis, master_key: MasterKey, notifier: Counting
) -> None:
    api = _api(ctx, notifier)
    client = _client(ctx.store, master_key)
    before = actions(ctx.store)
    for scopes in (["delete"], []):
        with pytest.raises(InvalidInput):
            api_service.put_grant(
                ctx, client=client, api=api, scopes=scopes, actor=TEST_ACTOR, notify=notifier
            )
    builtin = ctx.apis.builtin_api(customer_id="acme")
    with pytest.raises(InvalidInput):
        api_service.delete_grant(ctx, client=client, api=builtin, actor=TEST_ACTOR, notify=notifier)
    assert notifier.count == 1
    assert actions(ctx.store) == before
    assert ctx.apis.list_grants(app_id=client.id) == []


def test_a_grant_on_the_builtin_api_sets_the_clients_roles(
    ctx: Apis, master_key: MasterKey, notifier: Counting
) -> None:
    client = _client(ctx.store, master_key)
    builtin = ctx.apis.builtin_api(customer_id="acme")
    api_service.put_grant(
        ctx,
        client=client,
        api=builtin,
        scopes=["viewer", "corpus_developer"],
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 1
    assert ctx.store.get_client(app_id=client.id).api_roles == ("viewer", "corpus_developer")
    event = audit_of(ctx.store)[-1]
    assert (event.action, event.detail["fields"]) == ("app_client.update", ["api_roles"])


def test_only_an_owner_changes_the_grants_of_an_owner_client(
    ctx: Apis, master_key: MasterKey, notifier: Counting
) -> None:
    api = _api(ctx, notifier)
    owner = Actor(name="owner", source="test", roles=frozenset({"owner"}))
    admin = Actor(name="admin", source="test", roles=frozenset({"administrator"}))
    client = make_client(ctx.store, master_key, name="root", roles=("owner",), actor=owner)
    with pytest.raises(ApiError):
        api_service.put_grant(
            ctx, client=client, api=api, scopes=["read"], actor=admin, notify=notifier
        )
    with pytest.raises(ApiError):
        api_service.delete_grant(ctx, client=client, api=api, actor=admin, notify=notifier)
    builtin = ctx.apis.builtin_api(customer_id="acme")
    plain = _client(ctx.store, master_key)
    with pytest.raises(ApiError):
        api_service.put_grant(
            ctx, client=plain, api=builtin, scopes=["owner"], actor=admin, notify=notifier
        )
    assert notifier.count == 1
    assert ctx.apis.list_grants(app_id=client.id) == []
    api_service.put_grant(
        ctx, client=client, api=api, scopes=["read"], actor=owner, notify=notifier
    )
    assert notifier.count == 2
