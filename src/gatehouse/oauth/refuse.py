"""The last step of every endpoint of the authorization server: an :class:`OAuthError` becomes
its RFC 6749 §5.2 response, counted and logged by sample; anything unexpected becomes a generic
``server_error`` whose detail goes to the log only."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from gatehouse.errors import JSON, OAuthError, ServerError
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.response import Response
from gatehouse.refusals import RefusalLog


def render_error(error: OAuthError) -> Response:
    """RFC 6749 §5.2: a JSON error body with the error's own status and headers."""
    return Response(error.status_code, (JSON, *error.headers()), error.body())


def answer(
    work: Callable[[TokenRequest], Response],
    request: TokenRequest,
    *,
    kind: str,
    log: logging.Logger,
    refusals: RefusalLog,
    failure: str,
) -> Response:
    """``work(request)``, or the error response of what it raised (``kind`` names the
    endpoint in the refusal count and log; ``failure`` is the ``server_error`` description)."""
    try:
        return work(request)
    except OAuthError as error:
        refusals.refused(
            kind,
            log,
            "%s refused: %s (%s) from %s",
            kind,
            error.error,
            error.log_detail or error.description,
            request.client_addr,
        )
        return render_error(error)
    except Exception:  # anything unexpected renders as a generic server_error
        log.exception("%s failed", kind)
        return render_error(ServerError(failure))


class Refusing(ABC):
    """An endpoint whose :meth:`handle` is :meth:`serve` ending in :func:`answer`: every
    refusal counted in ``refusals`` under ``kind`` and logged to ``log``."""

    kind: ClassVar[str]
    failure: ClassVar[str]  # the server_error description
    log: ClassVar[logging.Logger]
    refusals: RefusalLog

    @abstractmethod
    def serve(self, request: TokenRequest) -> Response: ...

    def handle(self, request: TokenRequest) -> Response:
        return answer(
            self.serve,
            request,
            kind=self.kind,
            log=self.log,
            refusals=self.refusals,
            failure=self.failure,
        )
