"""Headers every response carries, set once in the server's configuration (uvicorn adds its
default headers to every response of every protocol, the fast lane's included, at no cost per
request).

- ``X-Content-Type-Options: nosniff``: a browser never guesses another media type (a JSON
  error echoing input must not become HTML).
- ``Strict-Transport-Security`` (RFC 6797) when the public URL is https: browsers keep to https
  for a year. No ``includeSubDomains``: the issuer cannot speak for sibling hosts.
"""

from __future__ import annotations

from gatehouse.settings import Settings

NOSNIFF = ("x-content-type-options", "nosniff")
HSTS = ("strict-transport-security", "max-age=31536000")


def response_headers(settings: Settings) -> list[tuple[str, str]]:
    """The headers added to every response of a server with these settings."""
    headers = [NOSNIFF]
    # RFC 6797 §7.2: HSTS is sent over secure transport; the public URL says it is https.
    if settings.base_url.startswith("https://"):
        headers.append(HSTS)
    return headers
