"""Federated credentials of app clients (workload identity federation, docs/secretless.md):
the checks of a credential's fields, its view, and which credential an outside token matches
(and why not). The use-cases that write them are :mod:`gatehouse.services.federated_credentials`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatehouse.authmethods import validate_https_url
from gatehouse.errors import InvalidInput
from gatehouse.oauth.assertions import (
    AssertionRejected,
    check_outside_token,
    parse_jwt,
    verify_signature,
    wanted_kid,
)
from gatehouse.oauth.trust_rules import TrustRules, check_rules, pins_nothing
from gatehouse.secretless.keyfetch import FetchFailed, KeyFetcher
from gatehouse.store.models import FederatedCredentialRecord

MAX_PER_CLIENT = 20
MAX_CLAIMS = 20
MAX_TEXT = 1000
FIELDS = ("name", "issuer", "audience", "subject", "claims", "single_use", "allow_any_subject")


def _text(name: str, value: object, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit or "\x00" in value:
        raise InvalidInput({name: f"must be 1 to {limit} characters"})
    return value


def _name(value: object) -> str:
    name = _text("name", value, limit=200).strip()
    if not name:
        raise InvalidInput({"name": "must be 1 to 200 characters"})
    return name


def validate(fields: Mapping[str, Any], *, allow_insecure: bool) -> dict[str, Any]:
    """The whole credential's fields, checked; refuses one that pins nothing but the issuer."""
    claims = fields.get("claims") or {}
    if not isinstance(claims, Mapping) or len(claims) > MAX_CLAIMS:
        raise InvalidInput({"claims": f"must be an object of at most {MAX_CLAIMS} claims"})
    for key, pattern in claims.items():
        _text("claims", key, limit=200)
        if isinstance(pattern, bool) or not isinstance(pattern, str | int):
            raise InvalidInput({"claims": f"claim {key}: the pattern must be text"})
        _text("claims", str(pattern))
    values: dict[str, Any] = {
        "name": _name(fields.get("name")),
        "issuer": validate_https_url(
            fields.get("issuer"), field="issuer", allow_insecure=allow_insecure
        ),
        "audience": (
            _text("audience", fields["audience"]) if fields.get("audience") is not None else None
        ),
        "subject": _text("subject", fields.get("subject")),
        "claims": {str(k): str(v) for k, v in claims.items()},
        "single_use": bool(fields.get("single_use", False)),
        "allow_any_subject": bool(fields.get("allow_any_subject", False)),
    }
    # GitHub and GitLab.com sign every tenant's tokens with one issuer: trusting all its
    # subjects trusts every repository in the world, so it takes an explicit opt-in.
    if pins_nothing(values["subject"], values["claims"]) and not values["allow_any_subject"]:
        raise InvalidInput(
            {
                "subject": "pins nothing but the issuer (every token it signs would match); "
                "name a subject or a claim, or set allow_any_subject"
            }
        )
    return values


def view(record: FederatedCredentialRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "issuer": record.issuer,
        "audience": record.audience,
        "subject": record.subject,
        "claims": dict(record.claims),
        "single_use": record.single_use,
        "allow_any_subject": record.allow_any_subject,
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one credential made of an outside token."""

    credential: FederatedCredentialRecord
    failed_check: str | None
    claim: str | None
    reason: str
    claims: Mapping[str, Any]
    exp: float = 0.0

    @property
    def matched(self) -> bool:
        return self.failed_check is None

    def as_result(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential.id,
            "name": self.credential.name,
            "matched": self.matched,
            "failed_check": self.failed_check,
            "claim": self.claim,
            "reason": self.reason,
        }


async def evaluate(
    fetcher: KeyFetcher,
    credential: FederatedCredentialRecord,
    token: str,
    *,
    default_audience: str,
) -> Outcome:
    """Every check of one credential on ``token``: signature by the issuer's keys, issuer,
    audience, expiry, age, then the subject and claim rules. Consumes nothing."""
    try:
        jwt = parse_jwt(token)
        claims = jwt.claims
    except AssertionRejected as exc:
        return Outcome(credential, "signature", None, exc.reason, {})
    try:
        if claims.get("iss") != credential.issuer:
            # Refused before any fetch: an outside token names the issuer it claims.
            raise AssertionRejected("issuer", f"iss is {claims.get('iss')!r}, not the credential's")
        try:
            keys = await fetcher.issuer_jwks(credential.issuer, kid=wanted_kid(jwt))
        except FetchFailed as exc:
            raise AssertionRejected(
                "signature", f"the issuer's keys are unavailable: {exc}"
            ) from None
        verify_signature(jwt, keys)
        exp = check_outside_token(
            claims, issuer=credential.issuer, audience=credential.audience or default_audience
        )
        check_rules(claims, TrustRules(credential.subject, credential.claims))
    except AssertionRejected as exc:
        return Outcome(credential, exc.check, exc.claim, exc.reason, claims)
    return Outcome(credential, None, None, "every check passed", claims, exp)
