"""Fixtures of the secretless-client tests: the app in-process with http URLs allowed (the
test issuers serve plain http on loopback), and the API helpers of ``tests/api``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.settings import Settings
from tests.api.conftest import api, owner
from tests.conftest import make_settings
from tests.secretless.issuer import Issuer, running_issuer

__all__ = ["api", "owner"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, allow_insecure_urls=True)


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running
