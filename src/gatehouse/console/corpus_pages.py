"""The corpora page (``/console/corpora``): list (searchable, paged), create and delete the
customer's corpora."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.appclients import CORPUS_KEY
from gatehouse.console.pages import ConsoleRequest, Done, Pages
from gatehouse.console.render import field
from gatehouse.services import corpora as corpus_service
from gatehouse.store.corpora import CorpusRecord, CorpusStore
from gatehouse.store.corpus_search import search_corpora
from gatehouse.store.store import Conflict

BASE = "/console/corpora"
PAGE_LIMIT = 1000
PAGE_SIZE = 25
MAX_QUERY = 200


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

    def find(page: ConsoleRequest, q: str, after_id: int) -> list[CorpusRecord]:
        if q:
            return search_corpora(
                runtime.store.engine,
                customer_id=page.customer_id,
                text=q,
                after_id=after_id,
                limit=PAGE_SIZE + 1,
            )
        return corpora.list_corpora(
            customer_id=page.customer_id, limit=PAGE_SIZE + 1, after_id=after_id
        )

    def list_page(
        page: ConsoleRequest,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        params = page.request.query_params
        q = params.get("q", "").strip()[:MAX_QUERY]
        after = params.get("after", "")
        after_id = int(after) if after.isdigit() and len(after) < 19 else 0
        found = find(page, q, after_id)
        more = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        query = {"q": q} if q else {}
        return pages.renderer.page(
            page.request,
            "corpora.html",
            principal=page.principal,
            status=400 if errors else 200,
            active="corpora",
            corpora=found,
            q=q,
            first_url=f"{BASE}?{urlencode(query)}" if after_id else None,
            next_url=f"{BASE}?{urlencode({**query, 'after': found[-1].id})}" if more else None,
            values=values or {"key": "", "name": "", "description": ""},
            errors=errors or {},
        )

    def show(page: ConsoleRequest) -> Response:
        return list_page(page)

    def create(page: ConsoleRequest) -> Done | Response:
        values = {
            "key": field(page.form, "key").strip(),
            "name": field(page.form, "name").strip(),
            "description": field(page.form, "description"),
        }
        errors = validate_corpus(values["key"], values["name"], values["description"])
        if not errors:
            try:
                corpus_service.create_corpus(
                    runtime.store,
                    corpora,
                    customer_id=page.customer_id,
                    key=values["key"],
                    name=values["name"] or values["key"],
                    description=values["description"],
                    actor=page.actor,
                    owner_app_id=None,  # a person creates it: no client becomes its owner
                    notify=runtime,
                )
            except Conflict:
                errors["key"] = "A corpus with this key exists already."
        if errors:
            return list_page(page, values=values, errors=errors)
        return Done(location=BASE, notice=f"Created the corpus “{values['key']}”.")

    def confirm_delete(page: ConsoleRequest) -> Response:
        record = corpora.get_corpus(customer_id=page.customer_id, key=page.path_param("key"))
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
            hidden={},
            grace_choices=(),
        )

    def delete(page: ConsoleRequest) -> Done:
        record = corpora.get_corpus(customer_id=page.customer_id, key=page.path_param("key"))
        corpus_service.delete_corpus(
            runtime.store,
            corpora,
            customer_id=page.customer_id,
            key=record.key,
            actor=page.actor,
            notify=runtime,
        )
        return Done(location=BASE, notice=f"Deleted the corpus “{record.key}”.")

    def confirm_url(page: ConsoleRequest) -> str:
        return f"{BASE}/{page.path_param('key')}/delete"

    return [
        Route(BASE, pages.signed_in(show), methods=["GET"]),
        Route(BASE, pages.acting(create), methods=["POST"]),
        Route(f"{BASE}/{{key}}/delete", pages.signed_in(confirm_delete), methods=["GET"]),
        Route(
            f"{BASE}/{{key}}/delete", pages.acting(delete, confirm=confirm_url), methods=["POST"]
        ),
    ]
