"""Broken token requests, generated from a fixed seed, to both lanes: never a 5xx, always an
RFC 6749 §5.2 JSON error (or the documented 405, 413 and 429), with its headers.

Hypothesis is not a dependency, so a seeded ``random.Random`` makes the cases; the seed and the
case number are in every failure message, so a failure reproduces exactly.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from tests.conftest import make_settings
from tests.factories import add_client, add_customer, basic_auth
from tests.oauth.conftest import OAUTH_ERRORS, Creds, Lane
from tests.oauth.rawhttp import RawConnection, RawResponse, build_request

from gatehouse.app import create_app
from gatehouse.runtime import Runtime

SEED = 6749
PER_KIND = 36
FORM = b"application/x-www-form-urlencoded"
NAMES = ["grant_type", "client_id", "client_secret", "scope", "resource", "audience"]
BAD_PERCENT = ["%", "%z", "%%", "%F", "%C3%28", "%FF%FE", "%00", "+%", "%E2%82", "%G0", "%-1"]
CONTENT_TYPES = [
    b"",
    b" ",
    b";",
    b"*/*",
    b"text/plain",
    b"application/json",
    b"application/x-www-form-urlencoded; charset=latin-1",
    b"application/x-www-form-urlencoded;;;;",
    b"application/x-www-form-urlencoded\xff",
    b"APPLICATION/X-WWW-FORM-URLENCODED",
    b"multipart/form-data; boundary=----x",
    b"application/x-www-form-urlencoded, application/json",
    b"\xc3\xa9t\xc3\xa9",
    b"application/jwt",
    b"application/json; charset=utf-16",
]
# Methods the HTTP parser knows; an unknown method token is an HTTP framing error (see below).
METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "MKCOL", "PURGE"]


@dataclass
class Case:
    kind: str
    method: str
    path: str
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""
    may_succeed: bool = False


@dataclass
class Context:
    rng: random.Random
    customer: str
    creds: Creds

    def path(self) -> str:
        choice = self.rng.randrange(5)
        if choice == 0:
            return "/oauth2/token"
        if choice == 1:
            return "/oauth/token"
        if choice == 2:
            junk = "".join(self.rng.choices("abcXYZ019-_.", k=self.rng.randint(1, 70)))
            return f"/customers/{junk}/oauth2/token"
        return f"/customers/{self.customer}/oauth2/token"

    def auth(self) -> list[tuple[str, bytes]]:
        choice = self.rng.randrange(4)
        if choice == 0:
            return []
        if choice == 1:
            return [("Authorization", basic_auth(self.creds.client_id, self.creds.secret).encode())]
        if choice == 2:
            return [("Authorization", basic_auth(self.creds.client_id, "wrong").encode())]
        return [("Authorization", b"Basic " + header_bytes(self.rng, 40))]

    def form(self, **overrides: str) -> bytes:
        params = {"grant_type": "client_credentials", **overrides}
        return "&".join(f"{k}={v}" for k, v in params.items()).encode()


def header_bytes(rng: random.Random, size: int) -> bytes:
    """Random bytes that are legal in an HTTP header value (no CR, LF, NUL or DEL)."""
    allowed = [b for b in range(0x20, 0x100) if b != 0x7F]
    return bytes(rng.choices(allowed, k=size))


def _random_body(ctx: Context) -> Case:
    rng = ctx.rng
    headers = [("Content-Type", rng.choice([FORM, b"application/json", *CONTENT_TYPES]))]
    return Case(
        "random body", "POST", ctx.path(), headers + ctx.auth(), rng.randbytes(rng.randint(0, 3000))
    )


def _bad_percent(ctx: Context) -> Case:
    rng = ctx.rng
    pairs = []
    for name in rng.sample(NAMES, rng.randint(1, len(NAMES))):
        value = "".join(rng.choice([*BAD_PERCENT, "a", "client_credentials"]) for _ in range(4))
        key = name if rng.random() < 0.7 else name + rng.choice(BAD_PERCENT)
        pairs.append(f"{key}={value}")
    body = "&".join(pairs).encode()
    return Case(
        "bad percent-encoding", "POST", ctx.path(), [("Content-Type", FORM), *ctx.auth()], body
    )


def _invalid_utf8(ctx: Context) -> Case:
    rng = ctx.rng
    junk = bytes(rng.choices(range(0x80, 0x100), k=rng.randint(1, 12)))
    name = rng.choice(NAMES).encode()
    if rng.random() < 0.5:
        body = ctx.form().replace(b"grant_type", name + junk, 1)
    else:
        body = ctx.form() + b"&" + name + b"=" + junk
    return Case("invalid UTF-8", "POST", ctx.path(), [("Content-Type", FORM), *ctx.auth()], body)


def _huge_headers(ctx: Context) -> Case:
    rng = ctx.rng
    choice = rng.randrange(4)
    if choice == 0:
        headers = [("Authorization", b"Basic " + b"QUJD" * rng.randint(4_000, 25_000))]
    elif choice == 1:
        headers = [("X-Junk", header_bytes(rng, rng.randint(8_000, 64_000)))]
    elif choice == 2:
        headers = [(f"X-H{i}", b"v" * 50) for i in range(rng.randint(100, 400))]
    else:
        headers = [("Content-Type", FORM + b"; x=" + b"y" * rng.randint(5_000, 30_000))]
    if choice != 3:
        headers.append(("Content-Type", FORM))
    return Case("huge headers", "POST", ctx.path(), headers, ctx.form())


def _odd_content_type(ctx: Context) -> Case:
    rng = ctx.rng
    body = ctx.form(client_id=ctx.creds.client_id, client_secret=ctx.creds.secret)
    content_type = rng.choice(CONTENT_TYPES)
    may = content_type.split(b";")[0].strip().lower() == FORM
    return Case("odd content type", "POST", ctx.path(), [("Content-Type", content_type)], body, may)


def _bad_basic(ctx: Context) -> Case:
    rng = ctx.rng
    raw = rng.choice(
        [
            b"Basic",
            b"Basic ",
            b"basic  ",
            b"Basic ====",
            b"Basic " + base64.b64encode(rng.randbytes(rng.randint(1, 60))),
            b"Basic " + base64.b64encode(b":"),
            b"Basic " + base64.b64encode(b"no-colon-here"),
            b"Basic " + base64.b64encode(b"%ZZ:%"),
            b"Basic " + base64.b64encode(b"\xff\xfe:\x80"),
            b"Basic " + base64.b64encode(b"id:" + rng.randbytes(10)).rstrip(b"="),
            b"Basic " + header_bytes(rng, rng.randint(1, 200)),
            b"BASIC " + base64.b64encode(f"{ctx.creds.client_id}:%%".encode()),
            b"Digest username=x",
            b"Bearer " + header_bytes(rng, 30),
            header_bytes(rng, 20),
        ]
    )
    headers = [("Content-Type", FORM), ("Authorization", raw)]
    return Case("bad Basic header", "POST", ctx.path(), headers, ctx.form())


def _empty_body(ctx: Context) -> Case:
    rng = ctx.rng
    headers = [("Content-Type", rng.choice([FORM, b"application/json", *CONTENT_TYPES]))]
    return Case("empty body", "POST", ctx.path(), headers + ctx.auth(), b"")


def _deep(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _json_documents(ctx: Context) -> Case:
    rng = ctx.rng
    creds = {"client_id": ctx.creds.client_id, "client_secret": ctx.creds.secret}
    body = rng.choice(
        [
            b"[]",
            b'["grant_type", "client_credentials"]',
            b"0",
            b"-1e400",
            b"1" * 5000,
            b'"client_credentials"',
            b"null",
            b"true",
            b"NaN",
            b"{",
            b"{}}",
            b'{"grant_type": "client_credentials"} trailing',
            _deep(rng.randint(100, 5000), rng.choice(["array", "object"])),
            orjson.dumps({"grant_type": {"nested": ["client_credentials"]}, **creds}),
            orjson.dumps({"grant_type": 1, **creds}),
            orjson.dumps({"grant_type": True, **creds}),
            orjson.dumps({"grant_type": "client_credentials", "scope": ["owner"], **creds}),
            orjson.dumps({"grant_type": "client_credentials", **creds}).decode().encode("utf-16"),
            b"\xef\xbb\xbf" + orjson.dumps({"grant_type": "client_credentials"}),
            b'{"grant_type": "client_credentials", "client_id": "\\ud800"}',
            rng.randbytes(rng.randint(1, 200)),
        ]
    )
    may = body.startswith(b'{"grant_type":"client_credentials","scope":"')
    headers = [("Content-Type", b"application/json")]
    return Case("JSON document", "POST", "/oauth/token", headers, body, may)


def _nul_bytes(ctx: Context) -> Case:
    rng = ctx.rng
    where = rng.randrange(4)
    if where == 0:
        body = b"grant_type=client_credentials\x00"
    elif where == 1:
        body = ctx.form(client_id=ctx.creds.client_id + "%00", client_secret=ctx.creds.secret)
    elif where == 2:
        body = b"grant\x00type=client_credentials&scope=owner\x00viewer"
    else:
        body = b"\x00" * rng.randint(1, 5000)
    json_lane = rng.random() < 0.3
    if json_lane:
        body = orjson.dumps({"grant_type": "client_credentials\x00", "client_id": "\x00"})
        return Case(
            "NUL bytes", "POST", "/oauth/token", [("Content-Type", b"application/json")], body
        )
    return Case("NUL bytes", "POST", ctx.path(), [("Content-Type", FORM), *ctx.auth()], body)


def _long_scope(ctx: Context) -> Case:
    rng = ctx.rng
    choice = rng.randrange(4)
    if choice == 0:
        scope = "+".join(["owner"] * rng.randint(1000, 3000))
    elif choice == 1:
        scope = "+".join(
            "".join(rng.choices("abcdefgh_", k=8)) for _ in range(rng.randint(500, 2000))
        )
    elif choice == 2:
        scope = "+" * rng.randint(1000, 20_000)
    else:
        scope = "x" * rng.randint(10_000, 40_000)
    headers = [
        ("Content-Type", FORM),
        ("Authorization", basic_auth(ctx.creds.client_id, ctx.creds.secret).encode()),
    ]
    body = ctx.form(scope=scope)
    return Case("long scope", "POST", ctx.path(), headers, body, may_succeed=choice in (0, 2))


def _other_methods(ctx: Context) -> Case:
    rng = ctx.rng
    body = rng.choice([b"", ctx.form(), rng.randbytes(100)])
    headers = [("Content-Type", FORM), *ctx.auth()]
    return Case("other method", rng.choice(METHODS), ctx.path(), headers, body)


def _odd_params(ctx: Context) -> Case:
    rng = ctx.rng
    grant = rng.choice(
        [
            "CLIENT_CREDENTIALS",
            "+client_credentials",
            "client_credentials%00",
            "client_credentials%20",
            "%E2%80%8Bclient_credentials",
            "client%5Fcredentials",
            "x" * rng.randint(1, 10_000),
            "",
        ]
    )
    client_id = rng.choice(
        ["", "%FF", "a" * rng.randint(1, 12_000), "%C3%A9%F0%9F%94%91", ctx.creds.client_id.upper()]
    )
    params = [
        f"grant_type={grant}",
        f"client_id={client_id}",
        "client_secret=" + "s" * rng.randint(0, 300),
    ]
    if rng.random() < 0.3:
        params.append(rng.choice(["=", "&&&", "==x", "a=b=c", "&=&", "resource=%23", "audience=+"]))
    rng.shuffle(params)
    body = "&".join(params).encode()
    return Case("odd parameters", "POST", ctx.path(), [("Content-Type", FORM)], body)


def _bad_targets(ctx: Context) -> Case:
    rng = ctx.rng
    target = rng.choice(
        [
            "resource=%23",
            "resource=http%3A%2F%2F",
            "resource=" + "h" * 300,
            "resource=https%3A%2F%2Fa.example%2F" + "p" * 300,
            "resource=https%3A%2F%2Fa%20b.example",
            "resource=javascript%3Aalert(1)",
            "audience=" + "a" * 256,
            "audience=%00",
            "audience=a%0Ab",
            "resource=https%3A%2F%2Fa.example&audience=b",
            "resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example",
        ]
    )
    headers = [
        ("Content-Type", FORM),
        ("Authorization", basic_auth(ctx.creds.client_id, ctx.creds.secret).encode()),
    ]
    body = b"grant_type=client_credentials&" + target.encode()
    return Case("bad resource or audience", "POST", ctx.path(), headers, body)


KINDS: list[Callable[[Context], Case]] = [
    _random_body,
    _bad_percent,
    _invalid_utf8,
    _huge_headers,
    _odd_content_type,
    _bad_basic,
    _empty_body,
    _json_documents,
    _nul_bytes,
    _long_scope,
    _other_methods,
    _odd_params,
    _bad_targets,
]


def generate_cases(customer: str, creds: Creds) -> list[Case]:
    ctx = Context(random.Random(SEED), customer, creds)
    return [kind(ctx) for kind in KINDS for _ in range(PER_KIND)]


def check_response(
    number: int, case: Case, status: int, headers: dict[str, str], body: bytes
) -> str | None:
    """What is wrong with one answer, or None."""
    label = f"seed {SEED} case {number} ({case.kind}, {case.method} {case.path[:60]}): {status}"
    if status >= 500:
        return f"{label} is a server error: {body[:200]!r}"
    if status == 200:
        return None if case.may_succeed else f"{label} succeeded: {body[:200]!r}"
    if status not in {400, 401, 405, 413, 429, 431}:
        return f"{label} is not a documented status: {body[:200]!r}"
    if headers.get("content-type") != "application/json":
        return f"{label} has content-type {headers.get('content-type')!r}: {body[:200]!r}"
    if headers.get("cache-control") != "no-store" or headers.get("pragma") != "no-cache":
        return f"{label} lacks Cache-Control: no-store / Pragma: no-cache"
    if case.method == "HEAD":
        return None
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"{label} body is not JSON: {body[:200]!r}"
    if not isinstance(document, dict) or set(document) != {"error", "error_description"}:
        return f"{label} body is not an OAuth error: {document!r}"
    if document["error"] not in OAUTH_ERRORS:
        return f"{label} has an unknown error code {document['error']!r}"
    expected_header = {
        401: ("www-authenticate", 'Basic realm="gatehouse"'),
        405: ("allow", "POST"),
        429: ("retry-after", headers.get("retry-after", "")),
    }.get(status)
    if expected_header and headers.get(expected_header[0]) != expected_header[1]:
        return f"{label} lacks {expected_header[0]}: {expected_header[1]}"
    if status == 401 and document["error"] != "invalid_client":
        return f"{label} is a 401 without invalid_client"
    if status in (405, 413) and document["error"] != "invalid_request":
        return f"{label} is a {status} without invalid_request"
    return None


@pytest.fixture
def unguarded_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose brute-force limits stay out of the way of hundreds of failures."""
    settings = make_settings(
        tmp_path, bruteforce_client_failures=10**6, bruteforce_address_failures=10**6
    )
    runtime = Runtime.open(settings)
    yield runtime
    runtime.store.engine.dispose()


def test_generated_set_is_several_hundred_varied_requests() -> None:
    creds = Creds("app_x", "acme", "client-id-000000000000", "secret")
    cases = generate_cases("acme", creds)
    assert len(cases) == PER_KIND * len(KINDS) >= 400
    assert len({case.kind for case in cases}) == len(KINDS)
    assert len({(case.method, case.path, case.body) for case in cases}) > 300
    assert cases == generate_cases("acme", creds)  # the seed makes them reproducible


def test_broken_requests_to_the_asgi_lane_get_oauth_errors(unguarded_runtime: Runtime) -> None:
    add_customer(unguarded_runtime, "acme")
    record, secret = add_client(unguarded_runtime, "acme")
    creds = Creds(record.id, "acme", record.client_id, secret)
    problems = []
    statuses: set[int] = set()
    app = create_app(runtime=unguarded_runtime)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as http:
        for number, case in enumerate(generate_cases("acme", creds)):
            raw_headers = [(name.encode("latin-1"), value) for name, value in case.headers]
            response = http.request(case.method, case.path, headers=raw_headers, content=case.body)
            headers = {k.lower(): v for k, v in response.headers.items()}
            statuses.add(response.status_code)
            problem = check_response(number, case, response.status_code, headers, response.content)
            if problem:
                problems.append(problem)
        assert (
            http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                headers={"authorization": basic_auth(creds.client_id, creds.secret)},
            ).status_code
            == 200
        )
    assert not problems, "\n".join(problems)
    # The set reaches every documented answer, not only the first check of the pipeline.
    assert statuses >= {200, 400, 401, 405, 413}


def test_broken_requests_to_the_fast_lane_get_oauth_errors(live_lane: Lane) -> None:
    customer = live_lane.add_customer()
    creds = live_lane.add_client(customer)
    problems = []
    statuses: set[int] = set()
    conn = RawConnection(live_lane.base_url)
    try:
        for number, case in enumerate(generate_cases(customer, creds)):
            conn.send(build_request(case.method, case.path, conn.host, case.headers, case.body))
            response: RawResponse = conn.read_response()
            statuses.add(response.status)
            problem = check_response(number, case, response.status, response.headers, response.body)
            if problem:
                problems.append(problem)
            if response.headers.get("connection") == "close" or case.method == "HEAD":
                conn.close()
                conn = RawConnection(live_lane.base_url)
    finally:
        conn.close()
    assert live_lane.post_token(creds).status_code == 200
    assert not problems, "\n".join(problems)
    # The set reaches every documented answer, not only the first check of the pipeline.
    assert statuses >= {200, 400, 401, 405, 413}


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"FOO /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Content-Length: 6\r\n\r\nabcdef",
        b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    ],
)
def test_requests_the_http_parser_rejects_get_400_and_a_closed_connection(
    live_lane: Lane, request_bytes: bytes
) -> None:
    # Not an OAuth request at all (bad framing, unknown method, TLS to a plain port): the HTTP
    # layer answers 400 and closes, before any endpoint could read it; never a 5xx.
    conn = RawConnection(live_lane.base_url)
    try:
        conn.send(request_bytes)
        response = conn.read_response()
        assert response.status == 400
        assert response.headers["connection"] == "close"
        assert conn.at_eof()
    finally:
        conn.close()
    assert live_lane.http.get("/healthz").status_code == 200
