"""Running the server: uvicorn with the fast-lane protocol, one or more worker processes."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from gatehouse.headers import response_headers
from gatehouse.logs import configure_logging
from gatehouse.settings import Settings

log = logging.getLogger(__name__)


def uvicorn_config(settings: Settings, *, workers: int = 1) -> uvicorn.Config:
    from gatehouse.fastlane import FastLaneProtocol

    return uvicorn.Config(
        "gatehouse.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        http=FastLaneProtocol,
        loop="uvloop" if _has_uvloop() else "asyncio",
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        headers=response_headers(settings),
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.timeout_keep_alive,  # type: ignore[arg-type]
        limit_concurrency=settings.limit_concurrency,
        **_tls_options(settings),
        # A worker answers the supervisor's health ping only once it has imported everything;
        # on a busy host that takes longer than uvicorn's 5 s, and the worker was killed.
        timeout_worker_healthcheck=30,
    )


def _tls_options(settings: Settings) -> dict[str, Any]:
    """RFC 8705 §2: TLS with an optional client certificate, checked by Gatehouse itself."""
    if settings.ssl_certfile is None:
        return {}
    return {
        "ssl_certfile": str(settings.ssl_certfile),
        "ssl_keyfile": str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        "ssl_ca_certs": str(settings.ssl_ca_certs) if settings.ssl_ca_certs else None,
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
    }


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def serve(settings: Settings, *, workers: int = 1) -> None:
    """Serve until interrupted. Worker processes read the same settings from the environment."""
    configure_logging(settings.log_level, settings.log_format)
    config = uvicorn_config(settings, workers=workers)
    server = uvicorn.Server(config)
    if workers > 1:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run()
