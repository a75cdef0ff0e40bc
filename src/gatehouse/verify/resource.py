"""OAuth 2.0 Protected Resource Metadata (RFC 9728) for an API that trusts a Gatehouse issuer.

One setting describes the API: ``ProtectedResource(identifier, issuer, scopes)``. From it come
the metadata document (RFC 9728 §2), the URL it is served at (§3.1: the well-known path goes
between the host and the identifier's path), the ``resource_metadata`` parameter of the API's
401 challenges (§5.1) and a :class:`TokenVerifier` for tokens whose ``aud`` is the identifier.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gatehouse.verify.verifier import TokenVerifier

__all__ = ["WELL_KNOWN", "ProtectedResource", "metadata_url"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(identifier: str) -> str:
    """RFC 9728 §3.1: the metadata URL of the resource ``identifier``."""
    parts = urlsplit(identifier)
    # RFC 9728 §3.1: the well-known suffix is inserted between the host and the path.
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, parts.query, ""))


class ProtectedResource:
    """An API protected by Gatehouse tokens: its identifier (the tokens' ``aud``), the issuer
    it trusts and the scopes it understands."""

    def __init__(
        self,
        identifier: str,
        issuer: str,
        scopes: Iterable[str] = (),
        *,
        resource_name: str | None = None,
        authorization_servers: Iterable[str] | None = None,
        bearer_methods: Iterable[str] = ("header",),
        documentation: str | None = None,
    ) -> None:
        parts = urlsplit(identifier)
        # RFC 9728 §2: the resource identifier is an https URL (http for local development)
        # with no fragment.
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise ValueError("the resource identifier must be an http(s) URL without a fragment")
        self.identifier = identifier
        self.issuer = issuer
        self.scopes = tuple(scopes)
        self.resource_name = resource_name
        self.authorization_servers = (
            tuple(authorization_servers) if authorization_servers is not None else (issuer,)
        )
        self.bearer_methods = tuple(bearer_methods)
        self.documentation = documentation
        self.metadata_url = metadata_url(identifier)
        self.metadata_path = urlsplit(self.metadata_url).path

    def metadata(self) -> dict[str, Any]:
        """The RFC 9728 §2 document."""
        # RFC 9728 §2: resource is REQUIRED and is the protected resource's identifier.
        document: dict[str, Any] = {
            "resource": self.identifier,
            "authorization_servers": list(self.authorization_servers),
            "bearer_methods_supported": list(self.bearer_methods),
        }
        if self.scopes:
            document["scopes_supported"] = list(self.scopes)
        if self.resource_name:
            document["resource_name"] = self.resource_name
        if self.documentation:
            document["resource_documentation"] = self.documentation
        return document

    def verifier(self, **options: Any) -> TokenVerifier:
        """A verifier for tokens of the issuer whose ``aud`` is this resource."""
        return TokenVerifier(self.issuer, self.identifier, **options)
