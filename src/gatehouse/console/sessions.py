"""Server-side console sessions: a random id in an HttpOnly, SameSite=Lax cookie (Secure under
https); the database keeps only its SHA-256, the user, the session's CSRF token and the expiry.

:func:`principal_from_session` is what the v2 API calls to accept "a console session cookie plus
CSRF token from the console's own pages" (SPEC §3).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gatehouse.api.bearer import Principal
from gatehouse.appclients import Actor
from gatehouse.console import csrf
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from gatehouse.store import sessions as rows
from gatehouse.store.store import Store
from gatehouse.users import ConsoleUser

COOKIE = "gatehouse_session"
# Under an https public URL the cookie is host-only, Secure and Path=/ (the __Host- prefix,
# RFC 6265bis §4.1.3.2): no sibling subdomain can set or shadow it.
HOST_COOKIE = "__Host-gatehouse_session"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class ConsolePrincipal:
    """A signed-in console user, as seen through one session."""

    user: ConsoleUser
    csrf_token: str
    expires_at: float
    session_hash: str = ""  # the stored SHA-256 of the cookie: one-time results are bound to it

    @property
    def customer_id(self) -> str:
        return self.user.customer_id

    @property
    def api_roles(self) -> tuple[str, ...]:
        """The account roles the user acts with (``owner`` or ``administrator``)."""
        return (self.user.role,)

    def actor(self, source: str | None) -> Actor:
        """Who acts, for the audit log."""
        return Actor(
            name=f"console:{self.user.email}", source=source, roles=frozenset({self.user.role})
        )


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(store: Store, *, user: ConsoleUser) -> tuple[str, ConsolePrincipal]:
    """A new session for ``user``: the cookie value (never stored) and the principal."""
    session_id = secrets.token_urlsafe(32)
    now = time.time()
    principal = ConsolePrincipal(
        user=user,
        csrf_token=csrf.new_token(),
        expires_at=now + LIFETIME_SECONDS,
        session_hash=_digest(session_id),
    )
    rows.insert_session(
        store,
        id_hash=principal.session_hash,
        user_id=user.id,
        csrf_token=principal.csrf_token,
        created_at=now,
        expires_at=principal.expires_at,
    )
    return session_id, principal


def load_session(store: Store, *, session_id: str) -> ConsolePrincipal | None:
    """The principal of a live session, or None for an unknown, ended or expired one."""
    if not session_id or len(session_id) > 100:
        return None
    found = rows.find_session(store, id_hash=_digest(session_id))
    if found is None or found.expires_at <= time.time():
        return None
    return ConsolePrincipal(
        user=found.user,
        csrf_token=found.csrf_token,
        expires_at=found.expires_at,
        session_hash=_digest(session_id),
    )


def end_session(store: Store, *, session_id: str) -> None:
    rows.delete_session(store, id_hash=_digest(session_id))


def cookie_is_secure(settings: Settings, request: Request) -> bool:
    """Secure under https: the request came over TLS or the public URL is https."""
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    """The session cookie's name: ``__Host-`` prefixed when the public URL is https."""
    return HOST_COOKIE if settings.base_url.startswith("https://") else COOKIE


def session_cookie(request: Request, settings: Settings) -> str | None:
    """The session id the request carries, under the one name this server sets."""
    return request.cookies.get(cookie_name(settings))


def set_session_cookie(
    response: Response, session_id: str, *, secure: bool, name: str = COOKIE
) -> None:
    response.set_cookie(
        name,
        session_id,
        max_age=LIFETIME_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session_cookie(response: Response, *, secure: bool, name: str = COOKIE) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)


def session_principal(
    store: Store, *, session_id: str | None, csrf_token: str | None
) -> ConsolePrincipal | None:
    """The principal when the session is live and ``csrf_token`` is that session's token."""
    if not session_id or not csrf_token:
        return None
    principal = load_session(store, session_id=session_id)
    if principal is None or not csrf.tokens_match(principal.csrf_token, csrf_token):
        return None
    return principal


async def principal_from_session(runtime: Runtime, request: Request) -> ConsolePrincipal | None:
    """The console user behind an API request sent by the console's own pages, or None.

    Both parts are required on every method: the ``gatehouse_session`` cookie and that session's
    CSRF token in the ``X-CSRF-Token`` header. A request with neither, or with a wrong or
    expired one, gets None (the caller answers 401 as for a missing bearer token).
    """
    session_id = session_cookie(request, runtime.settings)
    token = request.headers.get(csrf.HEADER)
    if not session_id or not token:
        return None
    return await run_in_threadpool(
        session_principal, runtime.store, session_id=session_id, csrf_token=token
    )


def api_session_resolver(runtime: Runtime) -> Callable[[Request], Awaitable[Principal | None]]:
    """The v2 API's ``session`` hook: a console user calling from the console's own pages acts
    with its console role (``owner`` or ``administrator``) as its account role."""

    async def resolve(request: Request) -> Principal | None:
        principal = await principal_from_session(runtime, request)
        if principal is None:
            return None
        client = request.client
        return Principal(
            customer_id=principal.customer_id,
            api_roles=frozenset(principal.api_roles),
            corpus_roles=(),
            app_id=None,
            actor=principal.actor(None).name,
            source=client.host if client else None,
        )

    return resolve
