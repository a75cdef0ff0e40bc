"""What every API handler needs: the runtime, the corpus store and the authentication step."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.api.bearer import Bearer, Principal
from gatehouse.appclients import Actor
from gatehouse.runtime import Runtime
from gatehouse.store.corpora import CorpusStore
from gatehouse.store.models import AuditEvent

# The console's seam: given a request without an Authorization header, return the principal of
# a valid session (cookie plus CSRF token) or None to fall through to the bearer check.
SessionResolver = Callable[[Request], Awaitable[Principal | None]]


@dataclass
class ApiContext:
    runtime: Runtime
    corpora: CorpusStore
    bearer: Bearer
    session: SessionResolver | None = None

    @classmethod
    def build(cls, runtime: Runtime, *, session: SessionResolver | None = None) -> ApiContext:
        return cls(
            runtime=runtime,
            corpora=CorpusStore(runtime.store.engine),
            bearer=Bearer(runtime.settings, runtime.replica),
            session=session,
        )

    async def principal(self, request: Request) -> Principal:
        """The FastAPI dependency of every route: who is calling, or a VerifyError."""
        authorization = request.headers.getlist("authorization")
        if not authorization and self.session is not None:
            found = await self.session(request)
            if found is not None:
                return found
        client = request.client
        return self.bearer.authenticate(
            authorization,
            customer_header=request.headers.get("customer-id"),
            source=client.host if client else None,
        )

    def audit(self, principal: Principal, action: str, target: str, **detail: Any) -> None:
        self.runtime.store.append_audit(
            events=[
                AuditEvent(
                    customer_id=principal.customer_id,
                    at=time.time(),
                    actor=principal.actor,
                    action=action,
                    target=target,
                    source=principal.source,
                    detail=detail,
                )
            ]
        )


def actor_of(principal: Principal) -> Actor:
    return Actor(name=principal.actor, source=principal.source)


def json_response(document: Any, *, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(document),
        status_code=status_code,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )
