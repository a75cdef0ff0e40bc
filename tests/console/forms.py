"""Submitting console forms as a browser would: the fields a page's form holds (hidden CSRF and
form tokens, checked boxes, selected options), with the test's own values on top."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, Protocol

from starlette.testclient import TestClient

Fields = dict[str, str | list[str]]


class Page(Protocol):
    """A response with an HTML body."""

    @property
    def text(self) -> str: ...


class _FormParser(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.found = False
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        posts = a.get("method", "").lower() == "post"
        if tag == "form" and posts and not self.found and a.get("action") == self.action:
            self.found = self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self.fields.append((a["name"], ""))
        elif tag == "select" and a.get("name"):
            self._select, self._first_option, self._selected = a["name"], None, False
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True

    def handle_data(self, data: str) -> None:
        if self.inside and self.fields and self.lasttag == "textarea":
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            if not self._selected and self._first_option is not None:
                self.fields.append((self._select, self._first_option))
            self._select = None
        if tag == "form" and self.inside:
            self.inside = False


def form_fields(html: str, action: str) -> Fields:
    """The fields the first form posting to ``action`` would send as it stands."""
    parser = _FormParser(action)
    parser.feed(html)
    assert parser.found, f"the page has no form posting to {action}"
    result: Fields = {}
    for name, value in parser.fields:
        if name in result:
            current = result[name]
            result[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            result[name] = value
    return result


def submit(
    client: TestClient,
    page: str | Page,
    action: str,
    fields: Fields | None = None,
    *,
    follow: bool = False,
    **values: str | list[str],
) -> Any:
    """POST the form that posts to ``action`` on ``page`` (a response, or a URL to GET first),
    with ``fields`` and ``values`` in place of what the form holds; the response."""
    html = client.get(page).text if isinstance(page, str) else page.text
    data = {**form_fields(html, action), **(fields or {}), **values}
    return client.post(action, data=data, follow_redirects=follow)
