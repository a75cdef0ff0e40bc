"""Fixtures for the verifier tests: one real issuer server per session, a fresh issuer per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.verify.fake_issuer import AUDIENCE, FakeIssuer, IssuerRegistry, MakeVerifier, serve

from gatehouse.verify import TokenVerifier


@pytest.fixture(scope="session")
def registry() -> Iterator[IssuerRegistry]:
    registry = IssuerRegistry()
    with serve(registry.app()) as base_url:
        registry.base_url = base_url
        yield registry


@pytest.fixture
def issuer(registry: IssuerRegistry) -> FakeIssuer:
    return registry.new("ES256")


@pytest.fixture
def make_verifier(issuer: FakeIssuer) -> MakeVerifier:
    def make(**kwargs: Any) -> TokenVerifier:
        return TokenVerifier(kwargs.pop("issuer", issuer.issuer), AUDIENCE, **kwargs)

    return make


@pytest.fixture
def verifier(make_verifier: MakeVerifier) -> TokenVerifier:
    return make_verifier()
