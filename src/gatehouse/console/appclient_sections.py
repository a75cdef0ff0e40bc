"""The sections an app client's page links to, besides its own (settings, secret, tokens).

Each part of the console that keeps settings of its own for an app client (federated
credentials, grants, key and TLS settings, ...) adds one :class:`SubPage` to
:data:`SUB_PAGES`; the client's page lists them under "More settings".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubPage:
    """A link from an app client's page; ``path`` holds ``{app_id}``."""

    title: str
    path: str
    summary: str

    def href(self, app_id: str) -> str:
        return self.path.format(app_id=app_id)


SUB_PAGES: list[SubPage] = [
    SubPage(
        title="Audit log",
        path="/console/audit?client={app_id}",
        summary="Every change to this app client and every token it got.",
    ),
]
