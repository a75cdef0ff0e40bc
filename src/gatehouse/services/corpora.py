"""Corpora: create, update and delete, with their audit records and corpus roles.

The API and the console both call these, so a use-case exists once: creating gives the
creating app client corpus role ``owner``; deleting takes every client's roles on that key
away, so a corpus created later under the same key inherits no grants.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gatehouse.appclients import Actor
from gatehouse.services import app_clients
from gatehouse.services.notify import Gathered, Notifier
from gatehouse.store.corpora import CorpusRecord, CorpusStore
from gatehouse.store.models import CorpusRole
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
    if owner_app_id is not None:
        _grant_owner(
            store,
            customer_id=customer_id,
            app_id=owner_app_id,
            key=key,
            actor=actor,
            notify=notify,
        )
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
    _drop_roles(store, customer_id=customer_id, key=key, actor=actor, notify=notify)
    _audit(store, actor, customer_id, "corpus.delete", key)


def _grant_owner(
    store: Store, *, customer_id: str, app_id: str, key: str, actor: Actor, notify: Notifier
) -> None:
    try:
        record = store.get_client(app_id=app_id, customer_id=customer_id)
    except NotFound:
        return
    roles = (*record.corpus_roles, CorpusRole(corpus_key=key, role="owner"))
    # The creator owns its corpus: a corpus role, whatever the account roles of the actor.
    app_clients.set_corpus_roles(
        store,
        customer_id=customer_id,
        app_id=app_id,
        roles=roles,
        actor=replace(actor, roles=None),
        notify=notify,
    )


def _drop_roles(
    store: Store, *, customer_id: str, key: str, actor: Actor, notify: Notifier
) -> None:
    """Take every client's roles on ``key`` away; one notice for them all."""
    gathered = Gathered()
    # The roles go with the corpus, whoever deletes it: no change of a client the actor must be
    # allowed to make.
    actor = replace(actor, roles=None)
    for record in store.list_clients(customer_id=customer_id):
        kept = tuple(r for r in record.corpus_roles if r.corpus_key != key)
        if len(kept) != len(record.corpus_roles):
            app_clients.set_corpus_roles(
                store,
                customer_id=customer_id,
                app_id=record.id,
                roles=kept,
                actor=actor,
                notify=gathered,
            )
    gathered.flush(notify)
