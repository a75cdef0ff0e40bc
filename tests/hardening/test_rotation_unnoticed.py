"""A key rotation no verifier notices: ``keys rotate`` publishes the next key first and makes it
active only after the JWKS cache lifetime plus a margin, so a verifier that honours
``Cache-Control`` and one that refetches at most once a minute both accept every token across
the rotation; ``--now`` (the emergency path) is what breaks them, shown for contrast.

The verifiers run on a clock of the test's own (the server's schedule is driven through
``Maintenance.run_once(now=...)``), so six minutes pass without waiting for them."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.testclient import TestClient

from gatehouse.keyring import ACTIVATION_DELAY, JWKS_MAX_AGE, rotate_keys, schedule_rotation
from gatehouse.maintenance import Maintenance
from gatehouse.runtime import Runtime
from gatehouse.verify import TokenVerifier
from gatehouse.verify.errors import InvalidToken
from tests.cli.runner import Cli, run_all
from tests.factories import add_customer
from tests.lifecycle.conftest import Lifecycle

ISSUER = "http://testserver/customers/acme"
JWKS_URI = f"{ISSUER}/.well-known/jwks.json"
AUDIENCE = "http://testserver"


@dataclass
class Clock:
    """The verifiers' time, in seconds; the test moves it."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class AppTransport(httpx.BaseTransport):
    """httpx requests answered by the app in-process (the verifier's HTTP client is unchanged)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.fetches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        answer = self.client.request(
            request.method, str(request.url), headers=dict(request.headers)
        )
        return httpx.Response(
            answer.status_code, headers=list(answer.headers.items()), content=answer.content
        )


@dataclass
class CachingVerifier:
    """A verifier that honours ``Cache-Control: max-age`` strictly, as an HTTP cache does: it
    never refetches the key set before its copy expires, not even for an unknown ``kid``."""

    http: httpx.Client
    clock: Clock
    keys: dict[str, Any] = field(default_factory=dict)
    expires: float = float("-inf")

    def verify(self, token: str) -> dict[str, Any]:
        if self.clock.now >= self.expires:
            response = self.http.get(JWKS_URI)
            max_age = re.search(r"max-age=(\d+)", response.headers["cache-control"])
            assert max_age is not None
            self.expires = self.clock.now + int(max_age.group(1))
            self.keys = {k["kid"]: k for k in response.json()["keys"]}
        kid = jwt.get_unverified_header(token)["kid"]
        if kid not in self.keys:
            raise jwt.InvalidKeyError(f"unknown kid {kid}")
        key = jwt.PyJWK.from_dict(self.keys[kid])
        claims: dict[str, Any] = jwt.decode(
            token, key=key, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER
        )
        return claims


@dataclass
class Verifiers:
    clock: Clock
    caching: CachingVerifier
    minute: TokenVerifier  # gatehouse.verify refetching at most once a minute

    def accept(self, token: str) -> bool:
        try:
            self.caching.verify(token)
        except jwt.PyJWTError:
            return False
        try:
            self.minute.verify(token)
        except InvalidToken:
            return False
        return True

    def each_accepts(self, token: str) -> tuple[bool, bool]:
        try:
            self.caching.verify(token)
            caching = True
        except jwt.PyJWTError:
            caching = False
        try:
            self.minute.verify(token)
            minute = True
        except InvalidToken:
            minute = False
        return caching, minute


@pytest.fixture
def verifiers(client: TestClient) -> Verifiers:
    clock = Clock()
    http = httpx.Client(transport=AppTransport(client))
    minute = TokenVerifier(
        ISSUER,
        AUDIENCE,
        jwks_uri=JWKS_URI,
        http_client=http,
        jwks_refresh_min_interval=60,
        jwks_max_age=JWKS_MAX_AGE,
        cache_size=0,
        monotonic=clock,
    )
    return Verifiers(clock, CachingVerifier(http, clock), minute)


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def test_a_scheduled_rotation_is_accepted_by_every_verifier_throughout(
    client: TestClient, runtime: Runtime, verifiers: Verifiers
) -> None:
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    app = lc.app()
    old = lc.token(app)
    # Both verifiers fetch the key set just before the rotation (the worst moment).
    assert verifiers.accept(old)
    rotation = schedule_rotation(
        runtime.store, runtime.master_key, customer_id="acme", alg="ES256", actor="test"
    )
    runtime.changed()
    assert not rotation.active_now
    assert rotation.activates_at - runtime.store.list_keys(customer_id="acme")[-1].created_at == (
        pytest.approx(ACTIVATION_DELAY)
    )
    # Published, not signing: tokens keep the old key until the new one is due.
    served = {k["kid"] for k in client.get(JWKS_URI).json()["keys"]}
    assert served == {kid_of(old), rotation.kid}
    verifiers.clock.now += 10
    during = lc.token(app)
    assert kid_of(during) == kid_of(old)
    assert verifiers.accept(during)
    # Maintenance activates it when due; the verifiers' clocks have moved as far.
    work = Maintenance(
        runtime.settings,
        runtime.store,
        runtime.master_key,
        audit=runtime.audit,
        on_change=runtime.changed,
    )
    assert work.run_once(now=rotation.activates_at - 1).rotated == []
    assert work.run_once(now=rotation.activates_at + 1).rotated == ["acme"]
    verifiers.clock.now += ACTIVATION_DELAY - 10 + 1
    new = lc.token(app)
    assert kid_of(new) == rotation.kid
    assert verifiers.each_accepts(new) == (True, True)
    assert verifiers.accept(old)  # the retired key stays published
    events = runtime.store.list_audit(customer_id="acme")
    assert [(e.action, e.target) for e in events if e.action.startswith("keys.")] == [
        ("keys.activate", rotation.kid),
        ("keys.schedule", rotation.kid),
    ]


def test_an_emergency_rotation_is_rejected_by_caching_verifiers_for_a_while(
    client: TestClient, runtime: Runtime, verifiers: Verifiers
) -> None:
    """What ``--now`` costs, and why it is not the default."""
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    app = lc.app()
    assert verifiers.accept(lc.token(app))
    rotate_keys(runtime.store, runtime.master_key, customer_id="acme", alg="ES256")
    runtime.changed()
    verifiers.clock.now += 1
    new = lc.token(app)
    assert verifiers.each_accepts(new) == (False, False)
    verifiers.clock.now += 60  # gatehouse.verify may refetch for the unknown kid again
    assert verifiers.each_accepts(new) == (False, True)
    verifiers.clock.now += JWKS_MAX_AGE  # the HTTP cache's copy has expired
    assert verifiers.each_accepts(new) == (True, True)


def test_keys_rotate_says_when_the_new_key_becomes_active(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "var")
    first = cli.json("customers", "create", "acme")
    assert first["customer_id"] == "acme"
    before = cli.json("keys", "list", "--customer", "acme")
    scheduled, text = run_all(
        cli.start("keys", "rotate", "--customer", "acme", "--json"),
        cli.start("keys", "list", "--customer", "acme"),
    )
    document = scheduled.json()
    assert document["active_kid"] == before["active_kid"]
    assert {k["kid"]: k["state"] for k in document["keys"]} == {
        before["active_kid"]: "active",
        document["next_kid"]: "next",
    }
    due = datetime.fromisoformat(document["activates_at"].replace("Z", "+00:00")).timestamp()
    assert 0 < due - time.time() <= ACTIVATION_DELAY
    again = cli.run("keys", "rotate", "--customer", "acme")
    assert again.code == 0, again.stderr
    assert again.stdout.startswith(f"next_kid: {document['next_kid']} is published and becomes ")
    assert "(--now activates at once)" in again.stdout
    assert text.code == 0
    emergency = cli.json("keys", "rotate", "--customer", "acme", "--now")
    assert emergency["active_kid"] == document["next_kid"]
