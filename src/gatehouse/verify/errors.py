"""Errors raised by the verifier, one class per RFC 6750 §3.1 error code.

Each class carries its ``error`` code and HTTP ``status_code`` as class attributes and knows how to
render its own ``WWW-Authenticate`` challenge (RFC 6750 §3), so a web adapter only has to catch
:class:`VerifyError` and copy ``status_code`` and :meth:`VerifyError.www_authenticate` into the
response. ``description`` is client-facing (it goes into ``error_description``); never put a token
or a secret into it.
"""

from __future__ import annotations

import re

__all__ = [
    "InsufficientScope",
    "InvalidDPoPProof",
    "InvalidRequest",
    "InvalidToken",
    "KeySetUnavailable",
    "MissingToken",
    "VerifyError",
]

# RFC 6750 §3: error_description values MUST NOT include characters outside %x20-21 / %x23-5B /
# %x5D-7E, i.e. printable ASCII without '"' and '\'.
_NOT_QDTEXT = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def quote_auth_param(value: str) -> str:
    """Return ``value`` as an RFC 6750 §3 quoted-string, dropping characters it may not hold."""
    return '"' + _NOT_QDTEXT.sub("", value) + '"'


class VerifyError(Exception):
    """Base class: a request that must not reach the protected resource."""

    error: str | None = "invalid_token"
    status_code: int = 401
    # The scheme the request used: "DPoP" makes the challenge a DPoP one (RFC 9449 §7.1).
    scheme: str = "Bearer"

    def __init__(self, description: str = "") -> None:
        super().__init__(description or (self.error or "unauthorized"))
        self.description = description

    def www_authenticate(
        self,
        realm: str = "gatehouse",
        *,
        resource_metadata: str | None = None,
        dpop_algs: str | None = None,
    ) -> str:
        """The ``WWW-Authenticate`` header value (RFC 6750 §3, RFC 9449 §7.1) for this error.

        ``resource_metadata``: the URL of the resource's RFC 9728 metadata (RFC 9728 §5.1), in
        the Bearer challenge.
        With ``dpop_algs`` (space-separated) the server also accepts DPoP: a request without
        credentials gets both challenges, one that used DPoP gets a DPoP challenge.
        """
        if dpop_algs is not None and self.scheme == "DPoP":
            return self._dpop_challenge(dpop_algs)
        params = [f"realm={quote_auth_param(realm)}"]
        # RFC 6750 §3.1: a request lacking any authentication information carries no error code.
        if self.error is not None:
            params.append(f"error={quote_auth_param(self.error)}")
            if self.description:
                params.append(f"error_description={quote_auth_param(self.description)}")
        params.extend(self._extra_params())
        if resource_metadata is not None:
            params.append(f"resource_metadata={quote_auth_param(resource_metadata)}")
        bearer = "Bearer " + ", ".join(params)
        # RFC 9449 §7.1: without credentials, the server names every scheme it accepts.
        if dpop_algs is not None and self.error is None:
            return f"{bearer}, DPoP algs={quote_auth_param(dpop_algs)}"
        return bearer

    def _dpop_challenge(self, algs: str) -> str:
        params = []
        if self.error is not None:
            params.append(f"error={quote_auth_param(self.error)}")
            if self.description:
                params.append(f"error_description={quote_auth_param(self.description)}")
        params.extend(self._extra_params())
        params.append(f"algs={quote_auth_param(algs)}")
        return "DPoP " + ", ".join(params)

    def _extra_params(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(error={self.error!r}, description={self.description!r})"


class MissingToken(VerifyError):
    """RFC 6750 §3.1: no bearer credentials at all; 401 with a bare challenge."""

    error = None
    status_code = 401


class InvalidToken(VerifyError):
    """RFC 6750 §3.1 ``invalid_token``: expired, revoked, malformed or otherwise invalid."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, error: str = "invalid_token", description: str = "") -> None:
        # Positional form ``InvalidToken(error, description)``; ``error`` is always invalid_token
        # unless a caller deliberately narrows it.
        super().__init__(description)
        self.error = error


class InvalidDPoPProof(VerifyError):
    """RFC 9449 §7.1 ``invalid_dpop_proof``: the DPoP proof is missing, invalid or replayed."""

    error = "invalid_dpop_proof"
    status_code = 401
    scheme = "DPoP"


class InsufficientScope(VerifyError):
    """RFC 6750 §3.1 ``insufficient_scope``: valid token, missing role; 403 with ``scope``."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str = "", *, scope: str = "") -> None:
        super().__init__(description)
        self.scope = scope

    def _extra_params(self) -> list[str]:
        # RFC 6750 §3: the "scope" attribute lists the scope necessary to access the resource.
        return [f"scope={quote_auth_param(self.scope)}"] if self.scope else []


class InvalidRequest(VerifyError):
    """RFC 6750 §3.1 ``invalid_request``: e.g. a token sent by more than one method; 400."""

    error = "invalid_request"
    status_code = 400


class KeySetUnavailable(VerifyError):
    """The issuer's metadata or JWKS could not be fetched and no keys are cached; 503.

    Not a client error: the token may be fine, the verifier simply cannot check it right now.
    """

    error = "temporarily_unavailable"
    status_code = 503
