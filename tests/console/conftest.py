"""Fixtures of the console tests: a customer, console users, and a signed-in TestClient."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.services.console_users import create_user
from tests.factories import add_customer

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match is not None, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    listing = client.get("/console/apiAccess/appClients")
    assert listing.status_code == 200
    return csrf_of(listing.text)


@pytest.fixture
def customer(runtime: Runtime) -> str:
    return add_customer(runtime, "acme")


@pytest.fixture
def make_user(runtime: Runtime, customer: str) -> Callable[..., str]:
    def make(
        email: str = "owner@acme.test", role: str = "owner", customer_id: str = customer
    ) -> str:
        create_user(
            runtime.store,
            customer_id=customer_id,
            email=email,
            role=role,
            password=PASSWORD,
            actor="test",
        )
        return email

    return make


@pytest.fixture
def owner(client: TestClient, make_user: Callable[..., str]) -> str:
    """Signs ``client`` in as an owner of ``acme``; returns the CSRF token."""
    return sign_in(client, make_user())
