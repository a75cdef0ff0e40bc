"""The revocation feed for outside verifiers (docs/operations.md): ``GET
{issuer}/oauth2/revocations?cursor=``, authenticated with HTTP Basic by an app client of that
customer exactly as at the token endpoint (RFC 6749 §2.3.1, the same client authentication
step), answering a page of revoked ``jti`` values and per-client cut-offs. Free of any web
framework and of the database: the page is read by the ``read_page`` hook the server passes in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from gatehouse.errors import JSON, NO_STORE, InvalidRequest, MethodNotAllowed
from gatehouse.oauth.client_auth import ClientAuthenticator
from gatehouse.oauth.refuse import Refusing
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.response import Response
from gatehouse.refusals import RefusalLog

log = logging.getLogger("gatehouse.revocation")

_CURSOR = re.compile(r"[0-9]{1,18}")
HEADERS = (JSON, *NO_STORE)

# (customer_id, cursor) -> the page's JSON document
ReadPage = Callable[[str, int | None], Mapping[str, Any]]


def feed_cursor(query: str) -> int | None:
    """The ``cursor`` query parameter (its last value), or None for a first page."""
    raw = None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "cursor":
            raw = value
    if raw is not None and _CURSOR.fullmatch(raw) is None:
        raise InvalidRequest("cursor must be a value returned by this feed")
    return int(raw) if raw is not None else None


@dataclass
class RevocationFeedEndpoint(Refusing):
    kind = "revocation feed"
    failure = "the server could not read the revocation feed"
    log = log

    auth: ClientAuthenticator  # the token endpoint's own client-authentication step
    read_page: ReadPage
    refusals: RefusalLog = field(default_factory=RefusalLog)

    def serve(self, request: TokenRequest) -> Response:
        if request.method != "GET":
            raise MethodNotAllowed("the revocation feed takes GET", allow="GET")
        client = self.auth.authenticate_basic(request)
        cursor = feed_cursor(request.query)
        return Response(200, HEADERS, orjson.dumps(self.read_page(client.customer_id, cursor)))
