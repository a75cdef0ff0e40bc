"""Property-based tests of the OAuth endpoints of a real server process (the fast lane
included): form bodies, JSON bodies, Basic headers, ``resource``/``audience``/``scope``, and
bearer tokens with arbitrary JWT headers and claims. Whatever comes in, the answer is a success
or an error in its documented shape (RFC 6749 §5.2, RFC 6750), never a 5xx."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import LiveServer, start_server
from tests.fuzz.shapes import check_api, check_oauth

FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOKEN_PATHS = ["/oauth2/token", "/customers/demo/oauth2/token", "/oauth/token"]
OTHER_PATHS = ["/oauth2/revoke", "/oauth2/introspect", "/customers/demo/oauth2/introspect"]
NAMES = st.sampled_from(
    [
        "grant_type",
        "scope",
        "resource",
        "audience",
        "client_id",
        "client_secret",
        "token",
        "token_type_hint",
    ]
) | st.text(max_size=12)
TRICKY = [
    "client_credentials",
    "owner",
    "owner viewer",
    "http://[::1",
    "http://[::1]:80/x",
    "https://api.example.com/#f",
    "https://api.example.com",
    "%",
    "%ZZ",
    "+",
    "\x00",
    '"\\',
    "é",
]
VALUES = st.sampled_from(TRICKY) | st.text(max_size=60)
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "APPLICATION/JSON",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)
PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("fuzz-oauth"),
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES="1000000",
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES="1000000",
    )
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def good_auth(server: LiveServer) -> str:
    return basic(server.demo["client_id"], server.demo["client_secret"])


def authorizations(server: LiveServer) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.just(good_auth(server)),
        st.binary(max_size=40).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
        PRINTABLE.map(lambda text: "Basic " + text),
        PRINTABLE,
    )


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def post(
    http: httpx.Client, path: str, body: bytes, content_type: str, auth: str | None
) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    if auth is not None:
        headers["authorization"] = auth.strip()  # h11 sends no value with outer whitespace
    return http.post(path, content=body, headers=headers)


def test_form_bodies_and_basic_headers(server: LiveServer, http: httpx.Client) -> None:
    @FUZZ
    @given(
        path=st.sampled_from(TOKEN_PATHS + OTHER_PATHS),
        pairs=st.lists(st.tuples(NAMES, VALUES), max_size=6),
        raw=st.none() | st.binary(max_size=120),
        content_type=CONTENT_TYPES,
        auth=authorizations(server),
    )
    def run(
        path: str,
        pairs: list[tuple[str, str]],
        raw: bytes | None,
        content_type: str,
        auth: str | None,
    ) -> None:
        body = raw if raw is not None else urlencode(pairs).encode()
        response = post(http, path, body, content_type, auth)
        check_oauth(response.status_code, response.headers, response.content, f"{path} {body!r}")

    run()


def test_json_bodies_of_the_sdk_alias(server: LiveServer, http: httpx.Client) -> None:
    @FUZZ
    @given(document=JSON, auth=authorizations(server))
    def run(document: Any, auth: str | None) -> None:
        body = json.dumps(document).encode()  # integers of any size
        response = post(http, "/oauth/token", body, "application/json", auth)
        check_oauth(response.status_code, response.headers, response.content, repr(body))

    run()


def test_resource_audience_and_scope(server: LiveServer, http: httpx.Client) -> None:
    @FUZZ
    @given(
        name=st.sampled_from(["resource", "audience", "scope"]),
        value=VALUES,
        path=st.sampled_from(TOKEN_PATHS[:2]),
    )
    def run(name: str, value: str, path: str) -> None:
        body = urlencode({"grant_type": "client_credentials", name: value}).encode()
        auth = good_auth(server)
        response = post(http, path, body, "application/x-www-form-urlencoded", auth)
        check_oauth(response.status_code, response.headers, response.content, f"{name}={value!r}")
        assert response.status_code in (200, 400), (name, value, response.text)

    run()


def test_bearer_tokens_with_any_header_and_claims(server: LiveServer, http: httpx.Client) -> None:
    header_values = st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["ES256", "RS256", "none", "HS256", "EdDSA"]) | JSON,
            "typ": st.sampled_from(["at+jwt", "JWT"]) | JSON,
            "kid": st.text(max_size=20) | JSON,
            "crit": JSON,
            "jwk": JSON,
        },
    )
    claims = st.fixed_dictionaries(
        {},
        optional={
            name: JSON | st.text(max_size=30)
            for name in ("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "customer_id")
        },
    )

    @FUZZ
    @given(
        header=header_values | JSON,
        payload=claims | JSON,
        signature=st.binary(max_size=80),
        raw=st.none() | PRINTABLE,
    )
    def run(header: Any, payload: Any, signature: bytes, raw: str | None) -> None:
        token = (
            raw
            if raw is not None
            else ".".join(
                [
                    b64url(json.dumps(header).encode()),
                    b64url(json.dumps(payload).encode()),
                    b64url(signature),
                ]
            )
        )
        bearer = http.get("/v2/corpora", headers={"authorization": f"Bearer {token}".strip()})
        check_api(bearer.status_code, bearer.headers, bearer.content, token)
        assert bearer.status_code == 401
        form = urlencode({"token": token}).encode()
        for path in ("/oauth2/introspect", "/oauth2/revoke"):
            response = post(
                http, path, form, "application/x-www-form-urlencoded", good_auth(server)
            )
            check_oauth(response.status_code, response.headers, response.content, token)
        introspected = post(
            http, "/oauth2/introspect", form, "application/x-www-form-urlencoded", good_auth(server)
        )
        if introspected.status_code == 200:
            assert introspected.json() == {"active": False}

    run()


def test_fuzzing_left_the_server_serving(server: LiveServer, http: httpx.Client) -> None:
    body = b"grant_type=client_credentials"
    response = post(http, "/oauth2/token", body, "application/x-www-form-urlencoded", None)
    assert response.status_code == 401
    ok = post(http, "/oauth2/token", body, "application/x-www-form-urlencoded", good_auth(server))
    assert ok.status_code == 200
    assert Path(server.log_path or "").read_text().count("Traceback") == 0
