"""The API's fast lane (``gatehouse.api.fastlane``) answers every corpus read exactly as the
FastAPI routes do, and takes the well-formed ones.

Two full apps (``create_app``) run on one runtime, so one database, one replica, one set of
keys: the *fast* app as built, and the *reference* app, in which the FastAPI app behind
``/v2/...`` (found through the ``/v2/{path:path}`` route's ``_Guard``) has the ``FastLane``
middleware struck from its ``user_middleware`` before its middleware stack is first built. That
is how the slow path is forced: the reference app is the same code with every request going
through FastAPI's routing, dependency and parameter analysis, and the request itself is left
as it is (a repeated harmless parameter would force ``/v2/corpora`` too, but changes the request,
and nothing forces ``/v2/corpora/{key}``). The reference app's lifespan is answered by the test,
since the runtime is started once, by the fast app.

Each request variant goes to both apps; status, every response header and the body must be the
same, the body's random ``request_id`` aside (checked to be one, then blanked), and the status
must be the one the variant expects. HEAD is not served on these paths (405 with ``Allow: GET``
on both, the fast lane takes only GET); a few such variants pin that too.

Which lane answered is observed without mocks: FastAPI's ``AsyncExitStackMiddleware``, which
sits inside the app's user middleware, puts ``fastapi_middleware_astack`` in the request's scope.
It is there after a request that went past the fast lane and absent after one the fast lane
answered. The reference app must show it on every request, which also proves the marker is
still what FastAPI sets.

Everything runs once on SQLite and once on a fresh PostgreSQL database.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from fastapi import FastAPI
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from gatehouse.api.bodylimit import BodyLimit
from gatehouse.api.fastlane import FastLane
from gatehouse.app import GatehouseApp, create_app
from gatehouse.console.sessions import start_session
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.console_users import create_user
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings
from gatehouse.users import get_user
from tests.api.conftest import REQUEST_ID, Api, forge
from tests.conftest import copy_migrated_sqlite, make_settings
from tests.factories import TEST_ACTOR

PAST_FAST_LANE = "fastapi_middleware_astack"  # set by FastAPI's stack inside the fast lane

# -- two apps on one runtime -----------------------------------------------------------------------


class Observed:
    """An ASGI app that keeps the scope of the last HTTP request it passed on."""

    def __init__(self, app: ASGIApp, *, own_lifespan: bool = False) -> None:
        self.app = app
        self.own_lifespan = own_lifespan
        self.scope: Scope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.own_lifespan:
            await _answer_lifespan(receive, send)
            return
        if scope["type"] == "http":
            self.scope = scope
        await self.app(scope, receive, send)

    def took_fast_lane(self) -> bool:
        assert self.scope is not None
        return PAST_FAST_LANE not in self.scope


async def _answer_lifespan(receive: Receive, send: Send) -> None:
    """Startup and shutdown of an app whose runtime another app starts and stops."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def api_app_of(app: GatehouseApp) -> FastAPI:
    """The FastAPI app serving ``/v2/...`` in ``app``."""
    for route in app.inner.routes:
        if isinstance(route, Route) and route.path == "/v2/{path:path}":
            api = getattr(route.endpoint, "app", None)
            assert isinstance(api, FastAPI)
            return api
    raise AssertionError("no /v2 route")


def without_fast_lane(app: GatehouseApp) -> GatehouseApp:
    api = api_app_of(app)
    assert api.middleware_stack is None, "the stack must not be built yet"
    lanes: list[object] = [FastLane]
    assert [m.cls for m in api.user_middleware] == [*lanes, BodyLimit]
    api.user_middleware = [m for m in api.user_middleware if m.cls not in lanes]
    return app


@dataclass
class World:
    """The fast app, the reference app, and what the variants' placeholders stand for."""

    runtime: Runtime
    fast: TestClient
    reference: TestClient
    fast_app: Observed
    reference_app: Observed
    values: dict[str, str] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        for name, value in self.values.items():
            text = text.replace(f"<{name}>", value)
        return text


@contextlib.contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    name = f"gh_fastlane_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("fastlane")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            settings = make_settings(data_dir)
            copy_migrated_sqlite(settings, migrated_sqlite)
        else:
            admin_url: str = request.getfixturevalue("postgres_admin_url")
            settings = make_settings(
                data_dir, database_url=stack.enter_context(fresh_postgres(admin_url))
            )
        yield from _world(settings, stack)


def _world(settings: Settings, stack: contextlib.ExitStack) -> Iterator[World]:
    runtime = Runtime.open(settings)
    stack.callback(runtime.store.engine.dispose)
    fast_app = Observed(create_app(runtime=runtime))
    reference_app = Observed(without_fast_lane(create_app(runtime=runtime)), own_lifespan=True)
    fast = stack.enter_context(TestClient(fast_app, follow_redirects=False))
    reference = stack.enter_context(TestClient(reference_app, follow_redirects=False))
    world = World(runtime, fast, reference, fast_app, reference_app)
    seed(world)
    yield world


ACME_KEYS = [f"c{i:02}" for i in range(12)] + ["k=1"]
GLOBEX_KEYS = ["g-secret", "g-other"]
READER_KEYS = {"c03", "k=1"}  # the corpus roles of the client without an account role


def seed(world: World) -> None:
    """acme with 13 corpora and clients of each kind, globex with two corpora of its own."""
    api = Api(world.fast, world.runtime)
    api.customer("acme")
    api.customer("globex")
    owner = api.caller("owner", name="owner")
    viewer = api.caller("viewer", name="viewer")
    reader = api.caller(
        corpus_roles=tuple({"corpus_key": k, "role": "viewer"} for k in sorted(READER_KEYS)),
        name="reader",
    )
    globex = api.caller("owner", customer_id="globex", name="globex owner")
    # globex's corpora come between acme's, so a globex page key points into acme's ids.
    for key in ACME_KEYS[:6]:
        api.create_corpus(owner, key, name=f"Corpus {key}")
    for key in GLOBEX_KEYS:
        api.create_corpus(globex, key)
    for key in ACME_KEYS[6:]:
        api.create_corpus(owner, key, name=f"Corpus {key}", description="later")
    deleted = api.caller("owner", name="deleted")
    app_clients.delete_client(
        world.runtime.store,
        customer_id="acme",
        app_id=deleted.record.id,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    world.runtime.changed()
    past = int(time.time()) - 3600
    expired = forge(world.runtime, owner.token, claims={"iat": past, "nbf": past, "exp": past + 60})
    head, payload, _ = owner.token.split(".")

    def page_key(caller_token: str, query: str) -> str:
        response = world.fast.get(
            f"/v2/corpora?{query}", headers={"Authorization": f"Bearer {caller_token}"}
        )
        assert response.status_code == 200, response.text
        key: str = response.json()["metadata"]["page_key"]
        assert key
        return key

    user_id = create_user(
        world.runtime.store,
        customer_id="acme",
        email="owner@acme.test",
        role="owner",
        password="console password",
        actor="test",
    )
    user = get_user(world.runtime.store, user_id=user_id)
    assert user is not None
    session_id, session = start_session(world.runtime.store, user=user)
    world.values.update(
        session=session_id,
        csrf=session.csrf_token,
        owner=owner.token,
        viewer=viewer.token,
        reader=reader.token,
        globex=globex.token,
        deleted=deleted.token,
        expired=expired,
        bad_signature=f"{head}.{payload}.{viewer.token.split('.')[2]}",
        page_key=page_key(owner.token, "limit=3"),
        foreign_page_key=page_key(globex.token, "limit=1"),
    )


# -- the request variants --------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    target: str  # path and query as sent; <placeholders> are filled from World.values
    authorization: tuple[str, ...]
    status: int
    fast: bool  # whether the fast lane takes it
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()


def b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


# (name, query, status, fast lane): the status is every caller's, whatever it may see.
LIST_QUERIES: list[tuple[str, str, int, bool]] = [
    ("no parameters", "", 200, True),
    ("limit 1", "limit=1", 200, True),
    ("limit 10", "limit=10", 200, True),
    ("limit 100", "limit=100", 200, True),
    ("limit with leading zeros", "limit=007", 200, True),
    ("limit percent-encoded", "limit=%35", 200, True),
    ("limit's name percent-encoded", "lim%69t=5", 200, True),
    ("limit's name percent-encoded, 0", "lim%69t=0", 400, False),
    ("limit 0", "limit=0", 400, False),
    ("limit 101", "limit=101", 400, False),
    ("limit abc", "limit=abc", 400, False),
    ("limit -1", "limit=-1", 400, False),
    ("limit empty", "limit=", 400, False),
    ("limit without =", "limit", 400, False),
    ("limit of four digits", "limit=0100", 200, False),
    ("limit decimal", "limit=1.5", 400, False),
    ("limit plus as space", "limit=+5", 200, False),
    ("limit arabic-indic digit", "limit=%D9%A5", 400, False),
    ("limit repeated alike", "limit=2&limit=2", 200, False),
    ("limit repeated unlike", "limit=1&limit=3", 200, False),
    ("limit repeated, one invalid", "limit=abc&limit=3", 200, False),
    ("page_key valid", "limit=3&page_key=<page_key>", 200, True),
    ("page_key empty", "page_key=", 200, True),
    ("page_key not base64 JSON", "page_key=!!!", 400, True),
    ("page_key JSON object", f"page_key={b64json({'id': 1})}", 400, True),
    ("page_key empty list", f"page_key={b64json([])}", 400, True),
    ("page_key list of a string", f"page_key={b64json(['1'])}", 400, True),
    ("page_key of another customer", "page_key=<foreign_page_key>", 200, True),
    ("page_key of 500 characters", "page_key=" + "A" * 500, 400, True),
    ("page_key over-long", "page_key=" + "A" * 501, 400, False),
    ("page_key repeated", "page_key=<page_key>&page_key=<page_key>", 200, False),
    ("filter valid regex", "filter=^c0[1-3]$", 200, True),
    ("filter percent-encoded", "filter=%5Ec0%5B1-3%5D%24", 200, True),
    ("filter plus as space", "filter=Corpus+c1", 200, True),
    ("filter matching nothing", "filter=zzz", 200, True),
    ("filter invalid regex", "filter=(", 400, True),
    ("filter unclosed class", "filter=c0%5B", 400, True),
    ("filter backreference RE2 refuses", "filter=(c)%5C1", 400, True),
    ("filter of 200 characters", "filter=" + "a" * 200, 200, True),
    ("filter over-long", "filter=" + "a" * 201, 400, False),
    ("filter of 200 non-ASCII characters", "filter=" + "%C3%A9" * 200, 200, True),
    ("filter of 201 non-ASCII characters", "filter=" + "%C3%A9" * 201, 400, False),
    ("filter NUL", "filter=%00", 200, True),
    ("filter over-long invalid regex", "filter=" + "(" * 201, 400, False),
    ("filter repeated", "filter=c0&filter=c1", 200, False),
    ("filter empty", "filter=", 200, True),
    ("filter non-ASCII", "filter=%C3%A9", 200, True),
    ("filter invalid UTF-8", "filter=%FF", 200, True),
    ("all three", "limit=2&filter=c&page_key=<page_key>", 200, True),
    ("unknown parameter repeated", "foo=1&foo=2&limit=2", 200, True),
    ("names are case-sensitive", "LIMIT=0&Filter=(", 200, True),
    ("empty pairs", "&&limit=2&", 200, True),
    ("semicolon is no separator", "limit=2;filter=x", 400, False),
]

# What each caller may see of acme's corpora (and globex's owner of globex's).
VISIBLE = {
    "owner": set(ACME_KEYS),
    "viewer": set(ACME_KEYS),
    "reader": READER_KEYS,
    "globex": set(GLOBEX_KEYS),
}

# (name, path after /v2/corpora/, the corpus key it names)
CORPUS_PATHS: list[tuple[str, str, str]] = [
    ("key", "c01", "c01"),
    ("key of the reader's role", "c03", "c03"),
    ("key with =", "k=1", "k=1"),
    ("key with = percent-encoded", "k%3D1", "k=1"),
    ("unknown key", "nope", "nope"),
    ("key of another customer", "g-secret", "g-secret"),
    ("non-ASCII key", "%C3%A9t%C3%A9", "été"),
    ("over-long key", "x" * 300, "x" * 300),
    ("key with NUL", "c0%001", "c0\x001"),
    ("key with ignored query", "c01?limit=abc&limit=0", "c01"),
]

SESSION = ("cookie", "gatehouse_session=<session>")
CSRF = ("x-csrf-token", "<csrf>")

# (name, Authorization headers, extra headers, status when the token is refused, or None)
AUTHORIZATIONS: list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], int | None]] = [
    ("no token", (), (), 401),
    ("no token but a cookie", (), (("cookie", "gatehouse_session=bogus"),), 401),
    ("console session", (), (SESSION, CSRF), None),
    ("console session, wrong CSRF token", (), (SESSION, ("x-csrf-token", "wrong")), 401),
    ("console session without CSRF token", (), (SESSION,), 401),
    ("garbage bearer beside a console session", ("Bearer not-a-jwt",), (SESSION, CSRF), 401),
    ("basic scheme", ("Basic b3duZXI6c2VjcmV0",), (), 401),
    ("garbage token", ("Bearer not-a-jwt",), (), 401),
    ("token with a space", ("Bearer a b",), (), 401),
    ("empty bearer", ("Bearer ",), (), 401),
    ("expired token", ("Bearer <expired>",), (), 401),
    ("bad signature", ("Bearer <bad_signature>",), (), 401),
    ("deleted client's token", ("Bearer <deleted>",), (), 401),
    ("two Authorization headers", ("Bearer <owner>", "Bearer <owner>"), (), 400),
    ("lowercase bearer scheme", ("bearer <owner>",), (), None),
    ("uppercase bearer scheme", ("BEARER <owner>",), (), None),
    ("matching customer-id", ("Bearer <owner>",), (("customer-id", "acme"),), None),
    ("mismatching customer-id", ("Bearer <owner>",), (("customer-id", "globex"),), 401),
    (
        "customer-id twice",
        ("Bearer <owner>",),
        (("customer-id", "acme"), ("customer-id", "globex")),
        None,
    ),
]


def variants() -> list[Variant]:
    found: list[Variant] = []
    for caller in ("owner", "viewer", "reader"):
        for name, query, status, fast in LIST_QUERIES:
            target = f"/v2/corpora?{query}" if query else "/v2/corpora"
            auth = (f"Bearer <{caller}>",)
            found.append(Variant(f"list, {name}, as {caller}", target, auth, status, fast))
    for caller, visible in VISIBLE.items():
        for name, path, key in CORPUS_PATHS:
            status = 200 if key in visible else 404
            auth = (f"Bearer <{caller}>",)
            found.append(
                Variant(f"get, {name}, as {caller}", f"/v2/corpora/{path}", auth, status, True)
            )
    for name, authorization, headers, refused in AUTHORIZATIONS:
        for target, status, fast in [
            ("/v2/corpora?limit=5", 200, True),
            ("/v2/corpora/c01", 200, True),
            ("/v2/corpora/nope", 404, True),
            ("/v2/corpora?limit=0", 400, False),
        ]:
            found.append(
                Variant(
                    f"{target}, {name}",
                    target,
                    authorization,
                    status if refused is None else refused,
                    fast,
                    headers=headers,
                )
            )
    owner = ("Bearer <owner>",)
    found += [
        Variant("HEAD list", "/v2/corpora", owner, 405, False, method="HEAD"),
        Variant("HEAD corpus", "/v2/corpora/c01", owner, 405, False, method="HEAD"),
        Variant("HEAD without token", "/v2/corpora/c01", (), 405, False, method="HEAD"),
        Variant("trailing slash redirects", "/v2/corpora/", owner, 307, False),
        Variant("path below a corpus", "/v2/corpora/c01/extra", owner, 404, False),
        Variant("encoded slash in key", "/v2/corpora/c01%2Fextra", owner, 404, False),
    ]
    return found


VARIANTS = variants()


# -- comparison ------------------------------------------------------------------------------------


def answer(response: Any) -> tuple[int, list[tuple[str, str]], Any]:
    """Status, every header, and the body with its random request id blanked."""
    headers = sorted((name.lower(), value) for name, value in response.headers.multi_items())
    body: Any = response.content
    if response.headers.get("content-type") == "application/json" and body:
        body = response.json()
        if isinstance(body, dict) and "request_id" in body:
            assert REQUEST_ID.fullmatch(body["request_id"]), body
            body["request_id"] = "<random>"
    return response.status_code, headers, body


def send(world: World, client: TestClient, variant: Variant) -> Any:
    headers = [("authorization", world.fill(a)) for a in variant.authorization]
    headers += [(name, world.fill(value)) for name, value in variant.headers]
    return client.request(variant.method, world.fill(variant.target), headers=headers)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_fast_lane_answers_as_fastapi_does(world: World, variant: Variant) -> None:
    fast = answer(send(world, world.fast, variant))
    assert world.fast_app.took_fast_lane() is variant.fast
    reference = answer(send(world, world.reference, variant))
    assert world.reference_app.took_fast_lane() is False
    assert fast == reference
    status, headers, _ = fast
    assert status == variant.status
    if status in (200, 400, 401, 404):
        assert ("cache-control", "no-store") in headers
        assert ("content-type", "application/json") in headers
    # RFC 6750 §3: a refused bearer-protected request carries the challenge (a 400 may be the
    # bearer check's invalid_request, with one, or a parameter's, without).
    challenged = any(name == "www-authenticate" for name, _ in headers)
    if status == 401:
        assert challenged
    elif status in (200, 404):
        assert not challenged


def test_the_variants_cover_both_lanes_and_every_status() -> None:
    fast = [v for v in VARIANTS if v.fast]
    assert len(fast) > 100
    assert len(VARIANTS) - len(fast) > 60
    assert {v.status for v in fast} == {200, 400, 401, 404}
    assert {v.status for v in VARIANTS if not v.fast} == {200, 307, 400, 401, 404, 405}


def test_listing_answers_show_what_each_caller_may_see(world: World) -> None:
    """The compared answers are real pages: a spot check of their bodies."""

    def keys(caller: str, query: str) -> list[str]:
        target = world.fill(f"/v2/corpora?{query}")
        auth = {"Authorization": world.fill(f"Bearer <{caller}>")}
        response = world.fast.get(target, headers=auth)
        assert response.status_code == 200
        return [c["key"] for c in response.json()["corpora"]]

    assert keys("owner", "limit=100") == ACME_KEYS
    assert keys("reader", "limit=100") == ["c03", "k=1"]
    assert keys("owner", "limit=3&page_key=<page_key>") == ["c03", "c04", "c05"]
    assert keys("owner", "page_key=<foreign_page_key>&limit=2") == ["c06", "c07"]
    assert keys("globex", "") == ["g-secret", "g-other"]
    assert keys("viewer", "filter=^c0[1-3]$") == ["c01", "c02", "c03"]
