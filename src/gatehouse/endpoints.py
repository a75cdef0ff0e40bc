"""The endpoint table: every protocol endpoint of the authorization server by path, built once
per process by the runtime (docs/architecture.md). The Starlette routes mount every entry
(``gatehouse.routes.asgi``) and the fast lane (``gatehouse.fastlane``) answers the entries
marked ``fast`` straight from the parser, so both lanes serve the same paths alike."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.response import Response

# The path parameter naming the issuer's customer (a Starlette path template).
CUSTOMER = "{customer_id}"

Handle = Callable[[TokenRequest], Response]
AsyncHandle = Callable[[TokenRequest], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One path of one endpoint. Every method reaches ``handle``, which refuses the ones it
    does not serve with a JSON 405 (RFC 6749 §5.2 shape, RFC 9110 §15.5.6 ``Allow``)."""

    path: str  # "/oauth2/token" or "/customers/{customer_id}/oauth2/token"
    handle: Handle
    json_allowed: bool = False  # a JSON body is accepted besides the form (the /oauth/ paths)
    threaded: bool = False  # ``handle`` runs off the event loop (it reads or writes the store)
    # A body that may carry a client assertion goes here instead (docs/secretless.md).
    with_assertion: AsyncHandle | None = None
    fast: bool = False  # the fast lane answers it, batched (the token endpoint only)
    # Answers on the event loop, a cold client read in a worker thread meanwhile
    # (docs/scale.md "Cold clients off the event loop"; the token endpoint only).
    deferred: AsyncHandle | None = None


@dataclass(frozen=True)
class FastRoutes:
    """The fast lane's view of the table: raw request path -> (customer id, JSON allowed)."""

    exact: dict[bytes, bool] = field(default_factory=dict)
    per_customer: tuple[tuple[re.Pattern[bytes], bool], ...] = ()

    def match(self, url: bytes) -> tuple[str | None, bool] | None:
        json_allowed = self.exact.get(url)
        if json_allowed is not None:
            return None, json_allowed
        for pattern, json_allowed in self.per_customer:
            found = pattern.fullmatch(url)
            if found is not None:
                return found.group(1).decode("ascii"), json_allowed
        return None


def path_pattern(path: str) -> re.Pattern[bytes]:
    """The raw paths a table path stands for; the customer id (of its one shape) is group 1."""
    before, _, after = path.partition(CUSTOMER)
    customer = b"(" + CUSTOMER_ID.pattern.encode("ascii") + b")"
    return re.compile(re.escape(before.encode()) + customer + re.escape(after.encode()))


def fast_routes(endpoints: Iterable[Endpoint]) -> FastRoutes:
    exact: dict[bytes, bool] = {}
    per_customer: list[tuple[re.Pattern[bytes], bool]] = []
    for endpoint in endpoints:
        if not endpoint.fast:
            continue
        if CUSTOMER in endpoint.path:
            per_customer.append((path_pattern(endpoint.path), endpoint.json_allowed))
        else:
            exact[endpoint.path.encode()] = endpoint.json_allowed
    return FastRoutes(exact, tuple(per_customer))


@dataclass(frozen=True)
class EndpointTable:
    entries: tuple[Endpoint, ...]
    fast: FastRoutes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fast", fast_routes(self.entries))
