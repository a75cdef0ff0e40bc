"""A response of one of the authorization server's endpoints, before the web layer sends it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
