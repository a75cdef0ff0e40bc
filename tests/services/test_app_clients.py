"""The app client service on SQLite and PostgreSQL: each write lands with its audit row and
tells the notifier once; a refused write changes nothing, audits nothing, notifies no one."""

from __future__ import annotations

import time

import pytest

from gatehouse.appclients import OWNER_ONLY, Actor
from gatehouse.errors import ApiError, InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.secrets import hash_secret
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.store.models import AppClientRecord, CorpusRole
from gatehouse.store.store import NotFound, Store
from tests.factories import TEST_ACTOR
from tests.services.conftest import Counting, actions, audit_of, make_client


def _create(store: Store, master_key: MasterKey, notifier: Counting) -> AppClientRecord:
    return make_client(store, master_key, notify=notifier)


def test_create_writes_the_client_with_its_audit_row_and_notifies_once(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record, secret = app_clients.create_client(
        store,
        master_key,
        customer_id="acme",
        name=" reader ",
        api_roles=["viewer", "viewer"],
        corpus_roles=[{"corpus_key": "kb", "role": "viewer"}],
        keep_secret=True,
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 1
    assert secret is not None
    assert store.get_client(app_id=record.id, customer_id="acme") == record
    assert (record.name, record.api_roles) == ("reader", ("viewer",))
    assert record.corpus_roles == (CorpusRole(corpus_key="kb", role="viewer"),)
    assert record.secret_hash == hash_secret(secret, key=master_key.secret_hmac_key)
    [event] = audit_of(store)
    assert (event.action, event.target, event.actor, event.source) == (
        "app_client.create",
        record.id,
        "test",
        "test",
    )
    assert event.detail == {"client_id": record.client_id, "api_roles": ["viewer"]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "api_roles": ["emperor"]}, "api_roles"),
        ({"name": "x", "lifetime": 10}, "token_lifetime_seconds"),
        ({"name": "x", "auth_fields": {"token_endpoint_auth_method": "none"}}, None),
    ],
)
def test_a_refused_create_writes_and_notifies_nothing(
    store: Store,
    master_key: MasterKey,
    notifier: Counting,
    fields: dict[str, object],
    field: str | None,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        app_clients.create_client(
            store,
            master_key,
            keep_secret=False,
            customer_id="acme",
            actor=TEST_ACTOR,
            notify=notifier,
            **fields,  # type: ignore[arg-type]
        )
    if field is not None:
        assert field in refused.value.field_errors
    assert notifier.count == 0
    assert store.list_clients(customer_id="acme") == []
    assert audit_of(store) == []


def test_update_audits_the_changed_fields_and_notifies_once(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    changes = ClientChanges(
        name="renamed",
        description="d",
        api_roles=["viewer", "corpus_developer"],
        token_lifetime_seconds=600,
        token_quota_per_hour=5,
    )
    updated = app_clients.update_client(
        store,
        customer_id="acme",
        app_id=record.id,
        changes=changes,
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 2
    assert store.get_client(app_id=record.id) == updated
    assert (updated.name, updated.description, updated.token_quota_per_hour) == (
        "renamed",
        "d",
        5,
    )
    assert updated.api_roles == ("viewer", "corpus_developer")
    event = audit_of(store)[-1]
    assert (event.action, event.target) == ("app_client.update", record.id)
    assert event.detail == {
        "client_id": record.client_id,
        "fields": sorted(
            ["name", "description", "api_roles", "token_lifetime_seconds", "token_quota_per_hour"]
        ),
    }


def test_the_quota_is_kept_unless_named_and_none_clears_it(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)

    def update(changes: ClientChanges) -> AppClientRecord:
        return app_clients.update_client(
            store,
            customer_id="acme",
            app_id=record.id,
            changes=changes,
            actor=TEST_ACTOR,
            notify=notifier,
        )

    assert update(ClientChanges(token_quota_per_hour=7)).token_quota_per_hour == 7
    assert update(ClientChanges(description="kept")).token_quota_per_hour == 7
    assert update(ClientChanges(token_quota_per_hour=None)).token_quota_per_hour is None


@pytest.mark.parametrize(
    "changes",
    [
        ClientChanges(name=""),
        ClientChanges(api_roles=["emperor"]),
        ClientChanges(token_lifetime_seconds=10),
        ClientChanges(token_quota_per_hour=0),
        ClientChanges(auth={"jwks_uri": "http://keys.example/jwks.json"}),
    ],
)
def test_a_refused_update_changes_audits_and_notifies_nothing(
    store: Store, master_key: MasterKey, notifier: Counting, changes: ClientChanges
) -> None:
    record = _create(store, master_key, notifier)
    with pytest.raises(InvalidInput):
        app_clients.update_client(
            store,
            customer_id="acme",
            app_id=record.id,
            changes=changes,
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 1  # the create's
    assert store.get_client(app_id=record.id) == record
    assert actions(store) == ["app_client.create"]


def test_an_unknown_auth_field_cannot_be_changed() -> None:
    with pytest.raises(InvalidInput) as refused:
        ClientChanges(auth={"secret_hash": b""})
    assert refused.value.field_errors == {"secret_hash": "cannot be changed"}


def test_another_customers_client_is_not_found_and_nobody_is_told(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    with pytest.raises(NotFound):
        app_clients.update_client(
            store,
            customer_id="globex",
            app_id=record.id,
            changes=ClientChanges(name="theirs"),
            actor=TEST_ACTOR,
            notify=notifier,
        )
    with pytest.raises(NotFound):
        app_clients.delete_client(
            store, customer_id="globex", app_id=record.id, actor=TEST_ACTOR, notify=notifier
        )
    with pytest.raises(NotFound):
        app_clients.revoke_tokens(
            store, customer_id="globex", app_id=record.id, actor=TEST_ACTOR, notify=notifier
        )
    assert notifier.count == 1
    assert store.get_client(app_id=record.id) == record
    assert audit_of(store, "globex") == []


def test_disabling_revokes_the_tokens_issued_so_far(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    before = time.time()
    disabled = app_clients.set_enabled(
        store,
        customer_id="acme",
        app_id=record.id,
        enabled=False,
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert disabled.enabled is False
    assert disabled.tokens_revoked_before is not None
    assert disabled.tokens_revoked_before >= before
    enabled = app_clients.set_enabled(
        store, customer_id="acme", app_id=record.id, enabled=True, actor=TEST_ACTOR, notify=notifier
    )
    assert enabled.enabled is True
    assert enabled.tokens_revoked_before == disabled.tokens_revoked_before
    assert notifier.count == 3
    updates = [e.detail["fields"] for e in audit_of(store) if e.action == "app_client.update"]
    assert updates == [["enabled", "tokens_revoked_before"], ["enabled"]]


def test_corpus_roles_are_replaced_whole(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    roles = (CorpusRole("kb", "owner"), CorpusRole("docs", "viewer"))
    updated = app_clients.set_corpus_roles(
        store, customer_id="acme", app_id=record.id, roles=roles, actor=TEST_ACTOR, notify=notifier
    )
    assert updated.corpus_roles == roles
    assert store.get_client(app_id=record.id).corpus_roles == roles
    assert notifier.count == 2
    assert audit_of(store)[-1].detail["fields"] == ["corpus_roles"]
    with pytest.raises(InvalidInput):
        app_clients.set_corpus_roles(
            store,
            customer_id="acme",
            app_id=record.id,
            roles=(CorpusRole("kb", "emperor"),),
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 2


def test_rotate_keeps_the_old_secret_for_the_grace_period(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    rotated, secret = app_clients.rotate_secret(
        store,
        master_key,
        customer_id="acme",
        app_id=record.id,
        grace_period_seconds=3600,
        keep_secret=False,
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 2
    assert rotated.secret_hash == hash_secret(secret, key=master_key.secret_hmac_key)
    assert rotated.previous_secret_hash == record.secret_hash
    assert rotated.secret_sealed is None
    assert store.get_client(app_id=record.id) == rotated
    event = audit_of(store)[-1]
    assert (event.action, event.detail) == (
        "app_client.rotate_secret",
        {"client_id": record.client_id, "grace_period_seconds": 3600},
    )


def test_a_refused_rotation_changes_nothing(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    with pytest.raises(InvalidInput):
        app_clients.rotate_secret(
            store,
            master_key,
            customer_id="acme",
            app_id=record.id,
            grace_period_seconds=8 * 86400,
            keep_secret=False,
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 1
    assert store.get_client(app_id=record.id) == record
    assert actions(store) == ["app_client.create"]


def test_revoke_and_delete_audit_and_notify_once_each(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    record = _create(store, master_key, notifier)
    revoked = app_clients.revoke_tokens(
        store, customer_id="acme", app_id=record.id, actor=TEST_ACTOR, notify=notifier
    )
    assert revoked.tokens_revoked_before is not None
    assert notifier.count == 2
    app_clients.delete_client(
        store, customer_id="acme", app_id=record.id, actor=TEST_ACTOR, notify=notifier
    )
    assert notifier.count == 3
    with pytest.raises(NotFound):
        store.get_client(app_id=record.id)
    assert actions(store) == [
        "app_client.create",
        "app_client.revoke_tokens",
        "app_client.delete",
    ]
    with pytest.raises(NotFound):
        app_clients.delete_client(
            store, customer_id="acme", app_id=record.id, actor=TEST_ACTOR, notify=notifier
        )
    assert notifier.count == 3


ADMIN = Actor(name="admin", source="test", roles=frozenset({"administrator"}))
OWNER = Actor(name="owner", source="test", roles=frozenset({"owner"}))


def _owner_client(store: Store, master_key: MasterKey) -> AppClientRecord:
    return make_client(store, master_key, name="root", roles=("owner",), actor=OWNER)


def test_only_an_owner_grants_owner(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    with pytest.raises(ApiError) as refused:
        app_clients.create_client(
            store,
            master_key,
            customer_id="acme",
            name="root",
            api_roles=["owner"],
            keep_secret=False,
            actor=ADMIN,
            notify=notifier,
        )
    assert (refused.value.status_code, refused.value.messages) == (403, [OWNER_ONLY])
    record = _create(store, master_key, notifier)
    with pytest.raises(ApiError):
        app_clients.update_client(
            store,
            customer_id="acme",
            app_id=record.id,
            changes=ClientChanges(api_roles=["owner"]),
            actor=ADMIN,
            notify=notifier,
        )
    assert notifier.count == 1
    assert store.get_client(app_id=record.id) == record
    assert actions(store) == ["app_client.create"]


@pytest.mark.parametrize("action", ["update", "enable", "roles", "rotate", "revoke", "delete"])
def test_only_an_owner_changes_an_owner_client(
    store: Store, master_key: MasterKey, notifier: Counting, action: str
) -> None:
    record = _owner_client(store, master_key)

    def act(actor: Actor) -> None:
        at = {"customer_id": "acme", "app_id": record.id}
        if action == "update":
            app_clients.update_client(
                store,
                customer_id="acme",
                app_id=record.id,
                changes=ClientChanges(name="mine"),
                actor=actor,
                notify=notifier,
            )
        elif action == "enable":
            app_clients.set_enabled(store, **at, enabled=False, actor=actor, notify=notifier)
        elif action == "roles":
            app_clients.set_corpus_roles(store, **at, roles=(), actor=actor, notify=notifier)
        elif action == "rotate":
            app_clients.rotate_secret(
                store,
                master_key,
                customer_id="acme",
                app_id=record.id,
                keep_secret=False,
                actor=actor,
                notify=notifier,
            )
        elif action == "revoke":
            app_clients.revoke_tokens(store, **at, actor=actor, notify=notifier)
        else:
            app_clients.delete_client(store, **at, actor=actor, notify=notifier)

    with pytest.raises(ApiError):
        act(ADMIN)
    assert notifier.count == 0
    assert store.get_client(app_id=record.id) == record
    assert actions(store) == ["app_client.create"]
    act(OWNER)
    assert notifier.count == 1
    act_cli = Actor(name="cli", source="cli")  # an operator: no roles, no rule
    if action != "delete":
        act(act_cli)
        assert notifier.count == 2
