"""The documented error shapes every fuzzed response must have (and never a 5xx)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
OAUTH_STATUSES = {200, 400, 401, 405, 413, 429, 431}


Headers = Mapping[str, str] | Mapping[str, list[str]]


def header(headers: Headers, name: str) -> str:
    """One header's (first) value, whatever the client's header mapping looks like."""
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, str):
                return value
            values: Sequence[str] = value
            return values[0] if values else ""
    return ""


def check_oauth(status: int, headers: Headers, body: bytes, what: str) -> None:
    """An OAuth endpoint's answer: 2xx, or an RFC 6749 §5.2 error that is never cached."""
    assert status < 500, (what, status, body[:300])
    assert status in OAUTH_STATUSES, (what, status, body[:300])
    if status == 200:
        return
    assert "no-store" in header(headers, "cache-control"), (what, status, headers)
    document: Any = orjson.loads(body)
    assert isinstance(document, dict), (what, body[:300])
    assert isinstance(document.get("error"), str), (what, document)
    description = document.get("error_description", "")
    assert isinstance(description, str), (what, document)
    assert DESCRIPTION.fullmatch(description), (what, description)
    if status == 401:
        assert header(headers, "www-authenticate").startswith("Basic "), (what, headers)


def check_api(status: int, headers: Headers, body: bytes, what: str) -> None:
    """A v2 API answer: a success, or ``{"messages": [...], "request_id": ...}``, never cached,
    with RFC 6750 ``WWW-Authenticate`` on a 401."""
    assert status < 500, (what, status, body[:300])
    if status < 400:
        return
    assert "no-store" in header(headers, "cache-control"), (what, status, headers)
    document: Any = orjson.loads(body)
    assert isinstance(document, dict), (what, body[:300])
    messages = document.get("messages")
    assert isinstance(messages, list), (what, document)
    assert messages, (what, document)
    assert all(isinstance(m, str) for m in messages), (what, document)
    assert isinstance(document.get("request_id"), str), (what, document)
    if status == 401:
        challenge = header(headers, "www-authenticate")
        assert challenge.startswith("Bearer realm="), (what, headers)
