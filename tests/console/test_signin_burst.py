"""A burst of concurrent sign-ins: each attempt is counted before its password is checked, so
no more than the limit are ever checked, and the argon2 work runs a bounded number at a time."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from starlette.testclient import TestClient

from gatehouse.console.signin import ARGON2_AT_ONCE, Argon2Gate
from gatehouse.runtime import Runtime
from tests.console.conftest import PASSWORD, csrf_of


async def burst(client: TestClient, email: str, password: str, count: int) -> Counter[int]:
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        token = csrf_of((await http.get("/console/login")).text)
        form = {"email": email, "password": password, "csrf_token": token}
        responses = await asyncio.gather(
            *(http.post("/console/login", data=form) for _ in range(count))
        )
    return Counter(response.status_code for response in responses)


@pytest.mark.parametrize("email", ["owner@acme.test", "ghost@acme.test"])
def test_forty_concurrent_wrong_passwords_get_at_most_the_limit_checked(
    client: TestClient, make_user: Callable[..., str], email: str
) -> None:
    make_user()
    statuses = asyncio.run(burst(client, email, "wrong password!", 40))
    # 400: the password was checked (and was wrong); 429: refused before any check.
    assert statuses == Counter({400: 5, 429: 35})


def test_a_right_password_gives_its_count_back(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    email = make_user()
    for _ in range(8):
        assert asyncio.run(burst(client, email, PASSWORD, 1)) == Counter({303: 1})
    assert asyncio.run(burst(client, email, "wrong password!", 6)) == Counter({400: 5, 429: 1})


def test_the_argon2_gate_runs_at_most_its_limit_at_once(
    runtime: Runtime, make_user: Callable[..., str]
) -> None:
    email = make_user()
    gate = Argon2Gate()

    async def many() -> list[bool]:
        found = await asyncio.gather(
            *(
                gate.authenticate(runtime.store, email=email, password=password)
                for password in [PASSWORD, "wrong password!"] * 6
            )
        )
        return [user is not None for user in found]

    assert asyncio.run(many()) == [True, False] * 6
    assert gate.most == ARGON2_AT_ONCE
    assert gate.checking == 0
