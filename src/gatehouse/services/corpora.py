"""Corpora: create, update and delete, with their audit records and corpus roles.

The API and the console both call these, so a use-case exists once: creating gives the
creating app client corpus role ``owner``; deleting takes every client's roles on that key
away, so a corpus created later under the same key inherits no grants.
"""

from __future__ import annotations

from typing import Any

from gatehouse.appclients import Actor
from gatehouse.services.notify import Notifier
from gatehouse.store.corpora import CorpusRecord, CorpusStore
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import NotFound, Store


def _audit(
    store: Store, actor: Actor, customer_id: str, action: str, key: str, **detail: Any
) -> None:
    store.append_audit(events=[actor.event(customer_id, action, key, **detail)])


def create_corpus(
    store: Store,
    corpora: CorpusStore,
    *,
    customer_id: str,
    key: str,
    name: str,
    description: str,
    actor: Actor,
    owner_app_id: str | None,
    notify: Notifier,
) -> CorpusRecord:
    """A new corpus (``Conflict`` if the key exists); ``owner_app_id`` becomes its owner."""
    record = corpora.insert_corpus(
        customer_id=customer_id, key=key, name=name or key, description=description
    )
    _audit(store, actor, customer_id, "corpus.create", record.key, id=record.public_id)
    if owner_app_id is not None and _grant_owner(
        store, customer_id=customer_id, app_id=owner_app_id, key=key, actor=actor
    ):
        notify.changed()
    return record


def update_corpus(
    store: Store,
    corpora: CorpusStore,
    *,
    customer_id: str,
    key: str,
    values: dict[str, Any],
    actor: Actor,
) -> CorpusRecord:
    record = corpora.update_corpus(customer_id=customer_id, key=key, values=values)
    _audit(store, actor, customer_id, "corpus.update", key, fields=sorted(values))
    return record


def delete_corpus(
    store: Store,
    corpora: CorpusStore,
    *,
    customer_id: str,
    key: str,
    actor: Actor,
    notify: Notifier,
) -> None:
    """Delete a corpus (``NotFound`` if there is none) and every client's roles on it."""
    corpora.delete_corpus(customer_id=customer_id, key=key)
    if _drop_roles(store, customer_id=customer_id, key=key, actor=actor):
        notify.changed()
    _audit(store, actor, customer_id, "corpus.delete", key)


def _grant_owner(store: Store, *, customer_id: str, app_id: str, key: str, actor: Actor) -> bool:
    """One row written (docs/scale.md "Corpus roles"), whatever the client holds already; the
    creator owns its corpus whatever the account roles of the actor. False: no such client."""
    granted = {"corpus_key": key, "role": "owner"}
    event = _role_event(actor, customer_id, app_id, granted=granted)
    try:
        store.grant_corpus_role(customer_id=customer_id, app_id=app_id, audit=event, **granted)
    except NotFound:
        return False
    return True


def _drop_roles(store: Store, *, customer_id: str, key: str, actor: Actor) -> bool:
    """Take every client's roles on ``key`` away, whoever deletes the corpus; True if any."""

    def event(app_id: str) -> AuditEvent:
        return _role_event(actor, customer_id, app_id, dropped_corpus_key=key)

    return bool(store.drop_corpus_roles(customer_id=customer_id, corpus_key=key, audit=event))


def _role_event(actor: Actor, customer_id: str, app_id: str, **detail: Any) -> AuditEvent:
    return actor.event(customer_id, "app_client.update", app_id, fields=["corpus_roles"], **detail)
