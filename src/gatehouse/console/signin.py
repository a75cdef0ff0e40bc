"""Signing in and out of the console.

An unknown email and a wrong password get the same answer, after the same work (an argon2id
verification either way). Attempts are counted per (address, email) and per address BEFORE the
password is checked (a success gives its count back); over either limit, the form answers 429
with ``Retry-After`` without checking the password, so 40 concurrent guesses for one email get
at most the limit checked. At most ``ARGON2_AT_ONCE`` argon2 verifications (19 MiB each) run at
once per process; the others wait their turn without holding memory or a worker thread.
"""

from __future__ import annotations

import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.console import csrf
from gatehouse.console.pages import Pages, safe_next
from gatehouse.console.render import field, redirect
from gatehouse.console.sessions import (
    clear_session_cookie,
    cookie_is_secure,
    cookie_name,
    end_session,
    load_session,
    session_cookie,
    session_principal,
    set_session_cookie,
    start_session,
)
from gatehouse.loopgate import LoopGate
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store
from gatehouse.users import ConsoleUser, authenticate

LOGIN_PATH = "/console/login"
BAD_CREDENTIALS = "The email or password is incorrect."
MAX_EMAIL = 320
MAX_PASSWORD = 1024
ARGON2_AT_ONCE = 2


class SignInGuard:
    """Counts failed sign-ins in fixed windows (in memory, or in Redis shared by every process)."""

    def __init__(
        self,
        storage_url: str | None = None,
        *,
        per_account: int = 5,
        per_address: int = 50,
        window_seconds: int = 900,
    ) -> None:
        storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        if not isinstance(storage, Storage):
            raise TypeError("a synchronous limits storage is required")
        self._limiter = FixedWindowRateLimiter(storage)
        self._per_account = RateLimitItemPerSecond(per_account, window_seconds)
        self._per_address = RateLimitItemPerSecond(per_address, window_seconds)

    def retry_after(self, address: str, email: str) -> int | None:
        """Seconds to wait while blocked, else None."""
        for item, keys in (
            (self._per_address, ("console-addr", address)),
            (self._per_account, ("console-login", address, email)),
        ):
            if not self._limiter.test(item, *keys):
                reset_at = self._limiter.get_window_stats(item, *keys).reset_time
                return max(1, int(reset_at - time.time()) + 1)
        return None

    def reserve(self, address: str, email: str) -> int | None:
        """Count one attempt before its check: None if it may go on, else seconds to wait.

        A refused attempt is not counted (it checks nothing); call :meth:`release` when the
        password turns out right.
        """
        # Test-and-count with no await in between: concurrent attempts cannot all pass.
        allowed_address = self._limiter.hit(self._per_address, "console-addr", address)
        allowed_account = self._limiter.hit(self._per_account, "console-login", address, email)
        if allowed_address and allowed_account:
            return None
        self.release(address, email)
        return self.retry_after(address, email) or 1

    def release(self, address: str, email: str) -> None:
        """Give back what :meth:`reserve` counted."""
        self._limiter.hit(self._per_address, "console-addr", address, cost=-1)
        self._limiter.hit(self._per_account, "console-login", address, email, cost=-1)


class Argon2Gate:
    """At most ``limit`` argon2 checks at once per process (one semaphore per event loop)."""

    def __init__(self, limit: int = ARGON2_AT_ONCE) -> None:
        self.gate = LoopGate(limit)
        self.checking = 0  # checks running now
        self.most = 0  # the most that ever ran at once

    async def authenticate(self, store: Store, *, email: str, password: str) -> ConsoleUser | None:
        async with self.gate.semaphore():
            self.checking += 1
            self.most = max(self.most, self.checking)
            try:
                return await run_in_threadpool(authenticate, store, email=email, password=password)
            finally:
                self.checking -= 1


def signin_routes(
    pages: Pages, guard: SignInGuard, gate: Argon2Gate | None = None
) -> list[BaseRoute]:
    runtime = pages.runtime
    gate = gate or Argon2Gate()
    renderer = pages.renderer

    def login_form(
        request: Request,
        *,
        status: int = 200,
        email: str = "",
        error: str | None = None,
        retry_after: int | None = None,
    ) -> Response:
        token = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_token()
        response = renderer.page(
            request,
            "login.html",
            principal=None,
            status=status,
            active="login",
            login_csrf=token,
            email=email,
            error=error,
            next=safe_next(request.query_params.get("next")),
            headers={"retry-after": str(retry_after)} if retry_after else None,
        )
        response.set_cookie(
            csrf.LOGIN_COOKIE,
            token,
            max_age=3600,
            path=LOGIN_PATH,
            httponly=True,
            samesite="lax",
            secure=cookie_is_secure(runtime.settings, request),
        )
        return response

    async def live_session(session_id: str | None) -> bool:
        if not session_id:
            return False
        found = await run_in_threadpool(load_session, runtime.store, session_id=session_id)
        return found is not None

    async def show(request: Request) -> Response:
        if await live_session(session_cookie(request, runtime.settings)):
            return redirect(safe_next(request.query_params.get("next")))
        return login_form(request)

    async def submit(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=10)
        except MultiPartException:
            return login_form(request, status=400, error="The form could not be read.")
        email = field(form, "email").strip().lower()[:MAX_EMAIL]
        password = field(form, "password")
        if not csrf.tokens_match(request.cookies.get(csrf.LOGIN_COOKIE), field(form, "csrf_token")):
            return login_form(
                request,
                status=403,
                email=email,
                error="The sign-in form expired. Please sign in again.",
            )
        if not email or not password:
            return login_form(
                request, status=400, email=email, error="Enter your email and password."
            )
        address = request.client.host if request.client else ""
        wait = guard.reserve(address, email)
        if wait is not None:
            return login_form(
                request,
                status=429,
                email=email,
                error=f"Too many failed sign-in attempts. Try again in {_minutes(wait)}.",
                retry_after=wait,
            )
        user = (
            await gate.authenticate(runtime.store, email=email, password=password)
            if len(password) <= MAX_PASSWORD
            else None
        )
        if user is None:  # the failure was counted by reserve
            return login_form(request, status=400, email=email, error=BAD_CREDENTIALS)
        guard.release(address, email)
        session_id, _principal = await run_in_threadpool(start_session, runtime.store, user=user)
        event = AuditEvent(
            customer_id=user.customer_id,
            at=time.time(),
            actor=f"console:{user.email}",
            action="console.sign_in",
            target=user.id,
            source=address or None,
        )
        await run_in_threadpool(runtime.store.append_audit, events=[event])
        response = redirect(safe_next(field(form, "next")))
        secure = cookie_is_secure(runtime.settings, request)
        set_session_cookie(response, session_id, secure=secure, name=cookie_name(runtime.settings))
        response.delete_cookie(csrf.LOGIN_COOKIE, path=LOGIN_PATH, secure=secure, httponly=True)
        return response

    async def logout(request: Request) -> Response:
        session_id = session_cookie(request, runtime.settings)
        try:
            form = await request.form(max_files=0, max_fields=10)
        except MultiPartException:
            form = None
        token = csrf.submitted_token(request, form)
        principal = await run_in_threadpool(
            session_principal, runtime.store, session_id=session_id, csrf_token=token
        )
        if principal is None and await live_session(session_id):
            # A live session but a wrong token: a forged sign-out; keep the user signed in.
            return pages.error_page(
                request, None, 403, "This sign-out did not come from the console."
            )
        if session_id:
            await run_in_threadpool(end_session, runtime.store, session_id=session_id)
        response = redirect(f"{LOGIN_PATH}?notice=signed_out")
        clear_session_cookie(
            response,
            secure=cookie_is_secure(runtime.settings, request),
            name=cookie_name(runtime.settings),
        )
        return response

    return [
        Route(LOGIN_PATH, show, methods=["GET"]),
        Route(LOGIN_PATH, submit, methods=["POST"]),
        Route("/console/logout", logout, methods=["POST"]),
    ]


def _minutes(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return "1 minute" if minutes <= 1 else f"{minutes} minutes"
