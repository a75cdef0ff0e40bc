"""CSRF protection for the console's forms and its script calls.

Each session has its own random token; every form carries it in a hidden ``csrf_token`` field and
every state-changing script call sends it in the ``X-CSRF-Token`` header. The sign-in form, which
comes before any session, uses a double-submit cookie instead. The cookies are ``SameSite=Lax``
as well, so a cross-site POST arrives without them in the first place.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request

FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "gatehouse_login_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def submitted_token(request: Request, form: FormData | None) -> str | None:
    """The token a request carries: the header of a script call, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    if form is not None:
        value = form.get(FORM_FIELD)
        if isinstance(value, str):
            return value
    return None
