"""``LoopGate``: at most ``limit`` holders at once, per event loop.

For work that is expensive in memory or CPU (an argon2 check, a filtered scan) and runs in the
threadpool: the callers beyond the limit wait on the event loop, holding no worker thread, and
the threads that run keep the loop's share of the GIL large. An ``asyncio.Semaphore`` belongs
to one loop; a process may run several (tests, the Starlette TestClient), so there is one each.
"""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["LoopGate"]


class LoopGate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    def semaphore(self) -> asyncio.Semaphore:
        """This loop's semaphore: ``async with gate.semaphore(): ...``."""
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        return semaphore
