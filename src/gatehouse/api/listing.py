"""List parameters shared by the list endpoints: ``limit``, opaque ``page_key``, ``filter``.

``filter`` is a regular expression, as the Vectara API documents it ("a regular expression to
filter the corpora by their name"), matched anywhere in the key or the name. It is compiled
with RE2, whose matching time is linear in the input, so no pattern can stall the server.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import orjson
import re2  # type: ignore[import-untyped]

from gatehouse.errors import ApiError

T = TypeVar("T")
Matcher = Callable[[str], bool]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_FILTER = 200
MAX_PAGE_KEY = 500
# What a page key's integers must fit: the row ids they name are INTEGER columns (32 bits on
# PostgreSQL); a larger one names no row and would be refused by the database.
_ROW_ID = range(-(2**31), 2**31)

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def bad_request(field: str, message: str) -> ApiError:
    return ApiError(400, "The request is invalid", field_errors={field: message})


@functools.lru_cache(maxsize=256)
def _search(pattern: str) -> Matcher | None:
    """The compiled pattern's ``search`` as a predicate, or None if it is not valid RE2.

    Cached: a client paging through a filtered list sends the same pattern on every page.
    """
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error:
        return None
    search = compiled.search

    def matches(text: str) -> bool:
        return search(text) is not None

    return matches


def compile_filter(pattern: str | None, *, field: str = "filter") -> Matcher | None:
    """A ``search`` predicate for ``pattern``, or None for no filter."""
    if pattern is None or pattern == "":
        return None
    if len(pattern) > MAX_FILTER:
        raise bad_request(field, f"must be at most {MAX_FILTER} characters")
    matcher = _search(pattern)
    if matcher is None:
        raise bad_request(field, "is not a valid regular expression")
    return matcher


def encode_page_key(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode("ascii").rstrip("=")


def decode_page_key(page_key: str | None, *, field: str = "page_key") -> list[Any] | None:
    """The position a page key encodes; a key that is not one of ours is a 400."""
    if page_key is None or page_key == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(page_key + "=" * (-len(page_key) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise bad_request(field, "is not a page key returned by this API") from None
    if not isinstance(position, list) or not position or not all(map(_storable, position)):
        raise bad_request(field, "is not a page key returned by this API")
    return position


def _storable(value: object) -> bool:
    """Whether a page key member can go into a query: a 32-bit integer, a finite float or a
    string without NUL (PostgreSQL holds none); anything else is not a key of ours."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value in _ROW_ID
    if isinstance(value, float):
        return True  # orjson parses no NaN or infinity
    return isinstance(value, str) and "\x00" not in value


def check_limit(limit: int, *, field: str = "limit") -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(field, f"must be between 1 and {MAX_LIMIT}")
    return limit


def take_page(
    batches: Iterator[list[T]], keep: Callable[[T], bool], limit: int
) -> tuple[list[T], bool]:
    """Up to ``limit`` kept items from successive batches, and whether more remain."""
    found: list[T] = []
    for batch in batches:
        for item in batch:
            if keep(item):
                if len(found) == limit:
                    return found, True
                found.append(item)
    return found, False


def any_match(matcher: Matcher | None, texts: Iterable[str]) -> bool:
    return matcher is None or any(matcher(text) for text in texts)
