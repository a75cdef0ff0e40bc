"""Dynamic registration's use-cases on SQLite and PostgreSQL: the client, its registration and
both audit rows are written at once; a refused request writes, uses and notifies nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from gatehouse.masterkey import MasterKey
from gatehouse.oauth.registration import InvalidClientMetadata, InvalidToken
from gatehouse.registration import Registrar
from gatehouse.services import registration as service
from gatehouse.store.store import NotFound, Store
from tests.conftest import make_settings
from tests.factories import TEST_ACTOR
from tests.services.conftest import Counting, actions, audit_of


@pytest.fixture
def ctx(store: Store, master_key: MasterKey, tmp_path: Path) -> Registrar:
    return Registrar.of(store, master_key, make_settings(tmp_path))


def _register(
    ctx: Registrar, token: str, notifier: Counting, **metadata: object
) -> dict[str, object]:
    return service.register_client(
        ctx,
        customer_id="acme",
        initial_token=token,
        body=orjson.dumps({"client_name": "robot", **metadata}),
        source="192.0.2.1",
        notify=notifier,
    )


def test_initial_tokens_are_created_and_revoked_with_their_audit_rows(ctx: Registrar) -> None:
    token, record = service.create_initial_token(
        ctx, customer_id="acme", roles=["viewer"], max_uses=2, actor=TEST_ACTOR
    )
    assert token.startswith("ghi_")
    assert ctx.registrations.list_initial_tokens(customer_id="acme") == [record]
    event = audit_of(ctx.store)[-1]
    assert (event.action, event.target, event.detail["roles"]) == (
        "registration_token.create",
        record.id,
        ["viewer"],
    )
    service.revoke_initial_token(ctx, customer_id="acme", token_id=record.id, actor=TEST_ACTOR)
    [revoked] = ctx.registrations.list_initial_tokens(customer_id="acme")
    assert revoked.revoked_at is not None
    assert actions(ctx.store) == ["registration_token.create", "registration_token.revoke"]
    with pytest.raises(NotFound):
        service.revoke_initial_token(
            ctx, customer_id="globex", token_id=record.id, actor=TEST_ACTOR
        )
    assert audit_of(ctx.store, "globex") == []


def test_register_writes_client_registration_and_audit_rows_and_notifies_once(
    ctx: Registrar, notifier: Counting
) -> None:
    token, _ = service.create_initial_token(ctx, customer_id="acme", actor=TEST_ACTOR)
    document = _register(ctx, token, notifier)
    assert notifier.count == 1
    client = ctx.store.find_client(client_id=str(document["client_id"]))
    assert client is not None
    assert client.name == "robot"
    assert ctx.registrations.registered_app_ids(customer_id="acme") == {client.id}
    create, register = audit_of(ctx.store)[-2:]
    assert (create.action, create.target) == ("app_client.create", client.id)
    assert (register.action, register.target, register.source) == (
        "app_client.register",
        client.id,
        "192.0.2.1",
    )
    assert register.actor.startswith("registration:iat_")


def test_refused_metadata_writes_uses_and_notifies_nothing(
    ctx: Registrar, notifier: Counting
) -> None:
    token, _record = service.create_initial_token(
        ctx, customer_id="acme", max_uses=1, actor=TEST_ACTOR
    )
    with pytest.raises(InvalidClientMetadata):
        _register(ctx, token, notifier, client_name="")
    with pytest.raises(InvalidToken):
        _register(ctx, "ghi_wrong", notifier)
    assert notifier.count == 0
    assert ctx.store.list_clients(customer_id="acme") == []
    assert actions(ctx.store) == ["registration_token.create"]
    [unused] = ctx.registrations.list_initial_tokens(customer_id="acme")
    assert unused.uses == 0


def test_update_and_delete_notify_once_each(ctx: Registrar, notifier: Counting) -> None:
    token, _ = service.create_initial_token(ctx, customer_id="acme", actor=TEST_ACTOR)
    document = _register(ctx, token, notifier)
    client_id, access = str(document["client_id"]), str(document["registration_access_token"])
    updated = service.update_client(
        ctx,
        customer_id="acme",
        client_id=client_id,
        access_token=access,
        body=orjson.dumps({"client_id": client_id, "client_name": "renamed"}),
        source=None,
        notify=notifier,
    )
    assert updated["client_name"] == "renamed"
    assert notifier.count == 2
    assert (
        service.read_client(ctx, customer_id="acme", client_id=client_id, access_token=access)
        == updated
    )
    assert notifier.count == 2  # reading tells nobody
    with pytest.raises(InvalidClientMetadata):
        service.update_client(
            ctx,
            customer_id="acme",
            client_id=client_id,
            access_token=access,
            body=orjson.dumps({"client_name": "no client_id"}),
            source=None,
            notify=notifier,
        )
    assert notifier.count == 2
    service.delete_client(
        ctx,
        customer_id="acme",
        client_id=client_id,
        access_token=access,
        source=None,
        notify=notifier,
    )
    assert notifier.count == 3
    assert ctx.store.find_client(client_id=client_id) is None
    assert actions(ctx.store)[-2:] == ["app_client.update", "app_client.delete"]
    with pytest.raises(InvalidToken):
        service.delete_client(
            ctx,
            customer_id="acme",
            client_id=client_id,
            access_token=access,
            source=None,
            notify=notifier,
        )
    assert notifier.count == 3
