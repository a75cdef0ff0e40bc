"""Parsing of token-endpoint request bodies (RFC 6749 §3.2, Appendix B).

Form bodies follow ``application/x-www-form-urlencoded``; the ``/oauth/token`` alias also takes a
JSON object, as the official Vectara SDK sends one.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import orjson

from gatehouse.errors import InvalidRequest, InvalidTarget, quoted

MAX_BODY = 16 * 1024


def _named(name: str) -> str:
    """How an error description names a parameter without echoing odd input."""
    return quoted(f"parameter {name}", "a parameter")


def media_type(content_type: str | None) -> str:
    """The lower-cased media type of a Content-Type value, without parameters."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def parse_form(body: bytes) -> dict[str, str]:
    """Decode a form body; a repeated parameter or bad encoding is ``invalid_request``."""
    try:
        text = body.decode("utf-8")
        params: dict[str, str] = {}
        seen: set[str] = set()
        for pair in text.split("&"):
            if not pair:
                continue
            name, _, value = pair.partition("=")
            if "%" in pair or "+" in pair:
                name = unquote_plus(name, errors="strict")
                value = unquote_plus(value, errors="strict")
            # RFC 6749 §3.2: request parameters must not be included more than once.
            if name in seen:
                # RFC 8707 §2: one audience per token here, so a second resource is
                # invalid_target.
                if name == "resource":
                    raise InvalidTarget("send one resource: a token is for one API")
                raise InvalidRequest(f"{_named(name)} is repeated")
            seen.add(name)
            # RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
            if value:
                params[name] = value
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the request body is not valid UTF-8") from exc
    return params


def parse_json(body: bytes) -> dict[str, str]:
    """Decode a JSON object of string values (the Vectara SDK's token request)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("the request body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise InvalidRequest("the request body must be a JSON object")
    params: dict[str, str] = {}
    for name, value in document.items():
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"{_named(name)} must be a string")
        params[name] = value
    # RFC 6749 §3.2: a member sent twice is a repeated parameter (orjson keeps only the last).
    try:
        json.loads(body, object_pairs_hook=_reject_repeated)
    except RecursionError as exc:  # a deep value hidden behind a repeated name
        raise InvalidRequest("the request body is nested too deeply") from exc
    return params


def _reject_repeated(pairs: list[tuple[str, object]]) -> None:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise InvalidRequest(f"{_named(name)} is repeated")
        seen.add(name)


def required(params: dict[str, str], name: str) -> str:
    """The value of a parameter the request must carry, or ``invalid_request`` naming it."""
    value = params.get(name)
    if value is None:
        raise InvalidRequest(f"{name} is required")
    return value


def parse_body(body: bytes, content_type: str | None, *, json_allowed: bool) -> dict[str, str]:
    """Parameters of a token request body, by its content type."""
    kind = media_type(content_type)
    # RFC 6749 §4.4.2: the request uses application/x-www-form-urlencoded.
    if kind == "application/x-www-form-urlencoded":
        return parse_form(body)
    if json_allowed and kind == "application/json":
        return parse_json(body)
    expected = "application/x-www-form-urlencoded" + (
        " or application/json" if json_allowed else ""
    )
    raise InvalidRequest(f"the content type must be {expected}")
