"""RFC 6750 §3 challenge rendering and the framework-free token extraction."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gatehouse.verify import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    MissingToken,
)
from gatehouse.verify.bearer import extract_bearer, form_access_tokens


def test_challenges_follow_rfc_6750() -> None:
    assert MissingToken("x").www_authenticate() == 'Bearer realm="gatehouse"'
    assert InvalidToken("invalid_token", 'bad "quote" \\ é').www_authenticate("api") == (
        'Bearer realm="api", error="invalid_token", error_description="bad quote  "'
    )
    assert InsufficientScope("need owner", scope="owner").www_authenticate() == (
        'Bearer realm="gatehouse", error="insufficient_scope", '
        'error_description="need owner", scope="owner"'
    )
    assert InvalidRequest("twice").status_code == 400


def test_extract_bearer_rules() -> None:
    assert extract_bearer(["Bearer abc.def-_~+/=="]) == "abc.def-_~+/=="
    assert extract_bearer([], form_tokens=["t"], allow_form=True) == "t"
    with pytest.raises(MissingToken):
        extract_bearer([], form_tokens=["t"])
    with pytest.raises(InvalidRequest):
        extract_bearer([], query_tokens=["a", "b"], allow_query=True)
    with pytest.raises(InvalidToken):
        extract_bearer(["Bearer a b"])


def test_form_access_tokens_only_reads_form_bodies() -> None:
    assert form_access_tokens(
        "application/x-www-form-urlencoded; charset=utf-8", b"access_token=t&x=1"
    ) == ["t"]
    assert form_access_tokens("application/json", b"access_token=t") == []
    assert form_access_tokens(None, b"access_token=t") == []


def test_verify_imports_without_web_frameworks() -> None:
    code = (
        "import sys\n"
        "for name in ('starlette', 'fastapi', 'jwt', 'requests', 'orjson', 'pydantic'):\n"
        "    sys.modules[name] = None\n"
        "import gatehouse.verify\n"
        "gatehouse.verify.TokenVerifier('https://i.test', 'a')\n"
        "assert not any(m.startswith('starlette') for m in sys.modules if sys.modules[m])\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
