"""How a service tells the running processes that clients, APIs or grants changed.

A service calls its notifier once after each write that committed. The server's composition
root, :class:`gatehouse.runtime.Runtime`, is the notifier of every adapter in a server process:
it applies the change to its own replica at once and wakes the others (docs/architecture.md).
A CLI command has no replica; the servers learn of its writes from the change feed the store
writes in the same transaction, so it passes :data:`UNHEARD`.
"""

from __future__ import annotations

from typing import Final, Protocol


class Notifier(Protocol):
    def changed(self) -> None:
        """A write committed: whoever serves from memory should read the change now."""


class Unheard:
    """The notifier of a process that serves nothing from memory (a CLI command)."""

    def changed(self) -> None:
        return None


UNHEARD: Final = Unheard()


class Gathered:
    """Collects the notices of several writes, to pass them on once (:meth:`flush`)."""

    def __init__(self) -> None:
        self.pending = False

    def changed(self) -> None:
        self.pending = True

    def flush(self, notifier: Notifier) -> bool:
        """Tell ``notifier`` once if anything changed; whether it did."""
        if not self.pending:
            return False
        self.pending = False
        notifier.changed()
        return True
