"""The federated credential service on SQLite and PostgreSQL: each write lands with its audit
row and tells the notifier once; a refused write changes nothing and notifies no one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gatehouse.appclients import Actor
from gatehouse.errors import ApiError, InvalidInput
from gatehouse.federation import MAX_PER_CLIENT
from gatehouse.masterkey import MasterKey
from gatehouse.services import federated_credentials as service
from gatehouse.services.federated_credentials import CredentialChanges
from gatehouse.store import federated
from gatehouse.store.models import AppClientRecord, FederatedCredentialRecord
from gatehouse.store.store import NotFound, Store
from tests.factories import TEST_ACTOR
from tests.services.conftest import Counting, actions, audit_of, make_client

FIELDS = {
    "name": "k8s",
    "issuer": "https://k8s.example",
    "subject": "system:serviceaccount:payments:*",
    "claims": {"kubernetes.io.namespace": "payments"},
}


@pytest.fixture
def client(store: Store, master_key: MasterKey) -> AppClientRecord:
    return make_client(store, master_key, name="workload", roles=())


def _add(store: Store, client: AppClientRecord, notifier: Counting) -> FederatedCredentialRecord:
    return service.add_credential(
        store,
        customer_id="acme",
        app_id=client.id,
        fields=FIELDS,
        allow_insecure=False,
        actor=TEST_ACTOR,
        notify=notifier,
    )


def test_add_writes_the_credential_with_its_audit_row_and_notifies_once(
    store: Store, client: AppClientRecord, notifier: Counting
) -> None:
    before = store.latest_change_id()
    credential = _add(store, client, notifier)
    assert notifier.count == 1
    assert store.latest_change_id() > before  # the replicas learn of it
    assert federated.list_credentials(store, app_id=client.id) == [credential]
    event = audit_of(store)[-1]
    assert (event.action, event.target, event.detail) == (
        "federated_credential.create",
        client.id,
        {"credential_id": credential.id, "issuer": FIELDS["issuer"], "subject": FIELDS["subject"]},
    )


@pytest.mark.parametrize(
    "fields",
    [
        {**FIELDS, "issuer": "http://k8s.example"},
        {**FIELDS, "subject": "**", "claims": {}},
        {**FIELDS, "name": ""},
    ],
)
def test_a_refused_add_writes_and_notifies_nothing(
    store: Store, client: AppClientRecord, notifier: Counting, fields: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput):
        service.add_credential(
            store,
            customer_id="acme",
            app_id=client.id,
            fields=fields,
            allow_insecure=False,
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 0
    assert federated.list_credentials(store, app_id=client.id) == []
    assert actions(store) == ["app_client.create"]


def test_another_customers_client_is_not_found(
    store: Store, client: AppClientRecord, notifier: Counting
) -> None:
    with pytest.raises(NotFound):
        service.add_credential(
            store,
            customer_id="globex",
            app_id=client.id,
            fields=FIELDS,
            allow_insecure=False,
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 0
    assert audit_of(store, "globex") == []


def test_a_client_holds_a_bounded_number_of_credentials(
    store: Store, client: AppClientRecord, notifier: Counting
) -> None:
    for _ in range(MAX_PER_CLIENT):
        _add(store, client, notifier)
    with pytest.raises(InvalidInput):
        _add(store, client, notifier)
    assert notifier.count == MAX_PER_CLIENT


def test_change_checks_the_whole_credential_audits_and_notifies_once(
    store: Store, client: AppClientRecord, notifier: Counting
) -> None:
    credential = _add(store, client, notifier)
    changed = service.change_credential(
        store,
        customer_id="acme",
        app_id=client.id,
        credential_id=credential.id,
        changes=CredentialChanges(subject="system:serviceaccount:payments:api", single_use=True),
        allow_insecure=False,
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 2
    assert (changed.subject, changed.single_use, changed.name) == (
        "system:serviceaccount:payments:api",
        True,
        "k8s",
    )
    assert federated.list_credentials(store, app_id=client.id) == [changed]
    assert actions(store)[-1] == "federated_credential.update"
    # A change that would leave the credential pinning nothing is refused.
    with pytest.raises(InvalidInput):
        service.change_credential(
            store,
            customer_id="acme",
            app_id=client.id,
            credential_id=credential.id,
            changes=CredentialChanges(subject="**", claims={}),
            allow_insecure=False,
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 2
    assert federated.list_credentials(store, app_id=client.id) == [changed]


def test_remove_audits_and_notifies_once(
    store: Store, client: AppClientRecord, notifier: Counting
) -> None:
    credential = _add(store, client, notifier)
    service.remove_credential(
        store,
        customer_id="acme",
        app_id=client.id,
        credential_id=credential.id,
        actor=TEST_ACTOR,
        notify=notifier,
    )
    assert notifier.count == 2
    assert federated.list_credentials(store, app_id=client.id) == []
    assert actions(store)[-1] == "federated_credential.delete"
    with pytest.raises(NotFound):
        service.remove_credential(
            store,
            customer_id="acme",
            app_id=client.id,
            credential_id=credential.id,
            actor=TEST_ACTOR,
            notify=notifier,
        )
    assert notifier.count == 2


def test_only_an_owner_changes_the_credentials_of_an_owner_client(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    owner = Actor(name="owner", source="test", roles=frozenset({"owner"}))
    admin = Actor(name="admin", source="test", roles=frozenset({"administrator"}))
    root = make_client(store, master_key, name="root", roles=("owner",), actor=owner)
    credential = _add(store, root, notifier)  # TEST_ACTOR: an operator

    def refused(act: Callable[[], object]) -> None:
        with pytest.raises(ApiError):
            act()

    at = {"customer_id": "acme", "app_id": root.id}
    refused(
        lambda: service.add_credential(
            store, **at, fields=FIELDS, allow_insecure=False, actor=admin, notify=notifier
        )
    )
    refused(
        lambda: service.change_credential(
            store,
            **at,
            credential_id=credential.id,
            changes=CredentialChanges(name="mine"),
            allow_insecure=False,
            actor=admin,
            notify=notifier,
        )
    )
    refused(
        lambda: service.remove_credential(
            store, **at, credential_id=credential.id, actor=admin, notify=notifier
        )
    )
    assert notifier.count == 1
    assert federated.list_credentials(store, app_id=root.id) == [credential]
    service.remove_credential(
        store, **at, credential_id=credential.id, actor=owner, notify=notifier
    )
    assert notifier.count == 2
