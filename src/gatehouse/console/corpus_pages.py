"""The corpora page (``/console/corpora``): list, create and delete the customer's corpora."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.appclients import CORPUS_KEY
from gatehouse.console.pages import ConsoleRequest, Pages
from gatehouse.console.render import confirmed, field, redirect
from gatehouse.store.corpora import CorpusRecord, CorpusStore
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict

BASE = "/console/corpora"
PAGE_LIMIT = 1000


def list_customer_corpora(pages: Pages, customer_id: str) -> list[CorpusRecord]:
    return CorpusStore(pages.runtime.store.engine).list_corpora(
        customer_id=customer_id, limit=PAGE_LIMIT
    )


def validate_corpus(key: str, name: str, description: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if CORPUS_KEY.fullmatch(key) is None:
        errors["key"] = "Enter a key of 1 to 50 letters, digits, '_', '=' or '-'."
    if len(name) > 200:
        errors["name"] = "The name can be at most 200 characters."
    if len(description) > 2000:
        errors["description"] = "The description can be at most 2000 characters."
    for name_of, text in (("name", name), ("description", description)):
        if "\x00" in text:  # PostgreSQL text holds no NUL
            errors[name_of] = f"The {name_of} must not contain NUL characters."
    return errors


def corpus_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime
    corpora = CorpusStore(runtime.store.engine)

    def audit(page: ConsoleRequest, action: str, key: str) -> None:
        actor = page.actor
        runtime.store.append_audit(
            events=[
                AuditEvent(
                    customer_id=page.customer_id,
                    at=time.time(),
                    actor=actor.name,
                    action=action,
                    target=key,
                    source=actor.source,
                )
            ]
        )

    def list_page(
        page: ConsoleRequest,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        return pages.renderer.page(
            page.request,
            "corpora.html",
            principal=page.principal,
            status=400 if errors else 200,
            active="corpora",
            corpora=list_customer_corpora(pages, page.customer_id),
            values=values or {"key": "", "name": "", "description": ""},
            errors=errors or {},
        )

    def show(page: ConsoleRequest) -> Response:
        return list_page(page)

    def create(page: ConsoleRequest) -> Response:
        values = {
            "key": field(page.form, "key").strip(),
            "name": field(page.form, "name").strip(),
            "description": field(page.form, "description"),
        }
        errors = validate_corpus(values["key"], values["name"], values["description"])
        if not errors:
            try:
                corpora.insert_corpus(
                    customer_id=page.customer_id,
                    key=values["key"],
                    name=values["name"] or values["key"],
                    description=values["description"],
                )
            except Conflict:
                errors["key"] = "A corpus with this key exists already."
        if errors:
            return list_page(page, values=values, errors=errors)
        audit(page, "corpus.create", values["key"])
        return redirect(f"{BASE}?notice=corpus_created")

    def delete(page: ConsoleRequest) -> Response:
        record = corpora.get_corpus(customer_id=page.customer_id, key=page.path_param("key"))
        if not confirmed(page.form):
            return pages.renderer.page(
                page.request,
                "confirm.html",
                principal=page.principal,
                active="corpora",
                title=f"Delete the corpus “{record.name}”?",
                message="The corpus and everything in it are deleted. This cannot be undone.",
                action_url=f"{BASE}/{record.key}/delete",
                button="Delete corpus",
                danger=True,
                back_url=BASE,
            )
        corpora.delete_corpus(customer_id=page.customer_id, key=record.key)
        audit(page, "corpus.delete", record.key)
        return redirect(f"{BASE}?notice=corpus_deleted")

    return [
        Route(BASE, pages.signed_in(show), methods=["GET"]),
        Route(BASE, pages.signed_in(create), methods=["POST"]),
        Route(f"{BASE}/{{key}}/delete", pages.signed_in(delete), methods=["POST"]),
    ]
