"""Rendering console pages: one Jinja2 environment, the security headers every page carries,
and the small helpers the page modules share."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from gatehouse.console import csrf
from gatehouse.console.results import new_form_token
from gatehouse.console.sessions import ConsolePrincipal
from gatehouse.console.timefmt import exact_time, relative_time

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/console/static"
FORM_TOKEN_FIELD = "form_token"  # noqa: S105 (a field name)

# Everything comes from this origin: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    # Pages show per-user data and sometimes a secret: never cache them.
    "cache-control": "no-store",
}

# Messages chosen by a fixed code in the URL, so a link cannot inject text. (An action's own
# notice names what it acted on and is stored with its result: see console/results.py.)
NOTICES = {
    "signed_out": "You are signed out.",
}


def _asset_versions() -> dict[str, str]:
    """A content hash per static file, appended to its URL so browsers never use a stale one."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "Never"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_datetime(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


class Renderer:
    """Renders templates with the context every page needs."""

    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        versions = _asset_versions()
        self.env.globals["static"] = lambda name: (
            f"{STATIC_PREFIX}/{name}?v={versions.get(name, '0')}"
        )
        self.env.filters["when"] = format_time
        self.env.filters["iso"] = iso_datetime
        self.env.filters["ago"] = relative_time
        self.env.filters["exact"] = exact_time
        self.env.globals["form_token"] = new_form_token

    def page(
        self,
        request: Request,
        template: str,
        *,
        principal: ConsolePrincipal | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        notice_code = request.query_params.get("notice", "")
        values: dict[str, Any] = {
            "request": request,
            "principal": principal,
            "csrf_token": principal.csrf_token if principal is not None else "",
            "notice": getattr(request.state, "console_notice", None) or NOTICES.get(notice_code),
            "error": None,
            "active": "",
        }
        values.update(context)
        body = self.env.get_template(template).render(values)
        return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def wants_json(request: Request) -> bool:
    """A script call (``fetch`` with ``Accept: application/json``) rather than a form post."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def json_response(document: dict[str, Any], *, status: int = 200) -> JSONResponse:
    return JSONResponse(document, status_code=status, headers={"cache-control": "no-store"})


def redirect(url: str) -> RedirectResponse:
    # 303: after a POST the browser follows with a GET.
    return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})


def field(form: FormData | None, name: str) -> str:
    """One text field of a form ("" when absent or a file)."""
    if form is None:
        return ""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def fields(form: FormData | None, name: str) -> list[str]:
    if form is None:
        return []
    return [v for v in form.getlist(name) if isinstance(v, str)]


def confirmed(form: FormData | None) -> bool:
    """A destructive form was confirmed (in the script's dialog or on the confirmation page)."""
    return field(form, "confirm") == "yes"


def has_csrf(request: Request, form: FormData | None, principal: ConsolePrincipal) -> bool:
    return csrf.tokens_match(principal.csrf_token, csrf.submitted_token(request, form))
