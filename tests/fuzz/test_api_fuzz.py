"""Property-based tests of the v2 (and v1) API's parsers on SQLite and PostgreSQL: page keys,
filters, names and descriptions, corpus keys and the audit ``action``. Every answer is a success
or ``{"messages": [...], "request_id": ...}``; never a 5xx (PostgreSQL refuses NUL and integers
past 64 bits, which must be a 400 before they reach it)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_customer
from tests.fuzz.shapes import check_api
from tests.lifecycle.conftest import Lifecycle

FUZZ = hypothesis_settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(max_size=60) | st.sampled_from(["\x00", "a\x00b", "é", '"\\', " ", ""])
MEMBER = (
    st.integers()
    | st.sampled_from([2**63, 2**64 - 1, -(2**63) - 1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.none()
    | st.booleans()
)
POSITION = st.lists(MEMBER | st.lists(MEMBER, max_size=2), max_size=3)


def encoded(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


PAGE_KEYS = POSITION.map(encoded) | st.text(max_size=40)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The settings the ``runtime`` and ``client`` fixtures use: each store in turn."""
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def bearer(client: TestClient, runtime: Runtime) -> dict[str, str]:
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    return {"Authorization": f"Bearer {lc.token(lc.app())}"}


def test_page_keys_of_every_list(client: TestClient, bearer: dict[str, str]) -> None:
    @FUZZ
    @given(key=PAGE_KEYS)
    def run(key: str) -> None:
        for path in ("/v2/corpora", "/v2/app_clients", "/v2/audit"):
            response = client.get(path, params={"page_key": key}, headers=bearer)
            check_api(response.status_code, response.headers, response.content, f"{path} {key}")
        v1 = client.post(
            "/v1/list-corpora",
            json={"numResults": 2, "pageKey": key},
            headers={**bearer, "customer-id": "acme"},
        )
        check_api(v1.status_code, v1.headers, v1.content, f"v1 {key}")

    run()


def test_filters_and_the_audit_action(client: TestClient, bearer: dict[str, str]) -> None:
    @FUZZ
    @given(text=st.text(max_size=220) | st.sampled_from(["(", "a\x00", "[[:alpha:]", "\\"]))
    def run(text: str) -> None:
        for path, name in (
            ("/v2/corpora", "filter"),
            ("/v2/app_clients", "filter"),
            ("/v2/audit", "action"),
        ):
            response = client.get(path, params={name: text}, headers=bearer)
            check_api(response.status_code, response.headers, response.content, f"{path} {text!r}")

    run()


def test_names_descriptions_and_corpus_keys(client: TestClient, bearer: dict[str, str]) -> None:
    @FUZZ
    @given(
        key=st.from_regex(r"[a-zA-Z0-9_=-]{1,50}", fullmatch=True) | TEXT,
        name=TEXT | st.none(),
        description=TEXT | st.none(),
    )
    def run(key: str, name: str | None, description: str | None) -> None:
        body = {"key": key, "name": name, "description": description}
        created = client.post("/v2/corpora", json=body, headers=bearer)
        check_api(created.status_code, created.headers, created.content, repr(body))
        path = f"/v2/corpora/{quote(key, safe='')}"
        for response in (
            client.get(path, headers=bearer),
            client.patch(path, json={"name": name, "description": description}, headers=bearer),
        ):
            check_api(response.status_code, response.headers, response.content, path)
        app = {"name": name if name is not None else "n", "description": description}
        made = client.post("/v2/app_clients", json=app, headers=bearer)
        check_api(made.status_code, made.headers, made.content, repr(app))
        if made.status_code == 201:
            changed = client.patch(
                f"/v2/app_clients/{made.json()['id']}",
                json={"description": description},
                headers=bearer,
            )
            check_api(changed.status_code, changed.headers, changed.content, repr(app))
        client.delete(path, headers=bearer)

    run()


def test_signed_tokens_with_any_claims(client: TestClient, runtime: Runtime) -> None:
    """Claims of any type under a valid signature of the customer's own key: the claim checks
    after the signature (``exp``, ``aud``, ``scope``, ``client_id``...) never fail with a 500."""
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    app = lc.app()
    names = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "client_id", "customer_id")
    # What a JSON encoder can sign: integers of 64 bits (orjson's range), everything else as is.
    value = (
        st.integers(min_value=-(2**63), max_value=2**64 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | TEXT
        | st.none()
        | st.booleans()
    )
    claim = value | st.lists(value, max_size=3) | st.dictionaries(TEXT, value, max_size=2)

    @FUZZ
    @given(
        changes=st.dictionaries(st.sampled_from(names), claim, max_size=4),
        dropped=st.sets(st.sampled_from(names), max_size=3),
    )
    def run(changes: dict[str, Any], dropped: set[str]) -> None:
        claims = {"client_id": app.record.client_id, "sub": app.record.client_id, **changes}
        token = lc.sign("acme", **claims)
        if dropped:  # re-sign without some claims
            signer = runtime.replica.signer_for("acme")
            assert signer is not None
            payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            token = signer.sign_jwt({k: v for k, v in payload.items() if k not in dropped})
        bearer = client.get("/v2/corpora", headers={"Authorization": f"Bearer {token}"})
        check_api(bearer.status_code, bearer.headers, bearer.content, repr(claims))
        form = {"token": token}
        for path in ("/oauth2/introspect", "/oauth2/revoke"):
            response = client.post(path, data=form, headers=app.auth)
            assert response.status_code < 500, (path, claims, response.text)

    run()
