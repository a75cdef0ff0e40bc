"""The fast lane's response heads: status line and headers, rendered once per (status, headers)
and per change of uvicorn's default headers (the ``date`` header, once a second)."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

__all__ = ["HEADS", "HeadCache"]


class HeadCache:
    """Status line and headers rendered once per (status, headers) and per second (the date)."""

    def __init__(self) -> None:
        self._defaults: object = None
        self._heads: dict[tuple[int, tuple[tuple[str, str], ...]], bytes] = {}

    def get(
        self,
        defaults: list[tuple[bytes, bytes]],
        status: int,
        headers: tuple[tuple[str, str], ...],
    ) -> bytes:
        if defaults is not self._defaults:
            self._defaults = defaults
            self._heads = {}
        key = (status, headers)
        head = self._heads.get(key)
        if head is None:
            parts = [STATUS_LINE[status]]
            for name, value in defaults:
                parts += [name, b": ", value, b"\r\n"]
            for name_s, value_s in headers:
                parts += [name_s.encode(), b": ", value_s.encode("latin-1"), b"\r\n"]
            head = b"".join(parts)
            if len(self._heads) < 64:  # error headers vary (Retry-After); keep the common ones
                self._heads[key] = head
        return head


HEADS = HeadCache()  # shared by every connection of the process
