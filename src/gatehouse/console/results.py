"""One-time results of console actions: a form acts once, and a secret is shown once.

Every console form that changes something carries a random form token. The first POST with
that token claims it (a unique row), acts, and records where its result is shown; the browser
is then redirected there (POST/redirect/GET, so reloading the result page only reads). A
repeated submission of the same form (a double click, a resent POST, the back button) finds
the claim and is sent to the first result instead of acting again.

A secret made by the action (a new client secret, a generated console password) is sealed
with the master key beside the claim, never put in a URL, and unsealed at most once: the first
GET of the result page takes it, and a reload shows the result without it. Claims belong to
one session and are deleted with it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from gatehouse.console.sessions import ConsolePrincipal
from gatehouse.masterkey import MasterKey
from gatehouse.store import sessions as rows
from gatehouse.store.store import Store

# A secret waits this long for its result page; after that it is gone even if never shown.
FLASH_SECONDS = 600
MAX_FORM_TOKEN = 100
# How long a second, concurrent submission of a form waits for the first one's result.
WAIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Claim:
    """The claim of one form token: ``first`` when this request is the one that acts."""

    id: str
    first: bool
    location: str | None


def with_result(location: str, result_id: str) -> str:
    """The URL of a result page: its location, naming the result."""
    return f"{location}{'&' if '?' in location else '?'}done={result_id}"


def new_form_token() -> str:
    return secrets.token_urlsafe(16)


def _digest(form_token: str) -> str:
    return hashlib.sha256(form_token.encode()).hexdigest()


def claim_form(store: Store, principal: ConsolePrincipal, *, form_token: str) -> Claim | None:
    """Claim ``form_token`` for ``principal``'s session; None for an unusable token."""
    if not 16 <= len(form_token) <= MAX_FORM_TOKEN or not form_token.isascii():
        return None
    digest = _digest(form_token)
    now = time.time()
    result_id = "res_" + secrets.token_urlsafe(18)
    if rows.insert_claim(
        store,
        result_id=result_id,
        form_token_hash=digest,
        session_hash=principal.session_hash,
        created_at=now,
        expires_at=principal.expires_at,
    ):
        return Claim(id=result_id, first=True, location=None)
    found = rows.find_claim(store, form_token_hash=digest)
    if found is None or found.session_hash != principal.session_hash:
        return None  # released meanwhile, or another session's token: never theirs to see
    return Claim(id=found.id, first=False, location=found.location)


def wait_for_result(store: Store, *, claim: Claim, timeout: float = WAIT_SECONDS) -> str | None:
    """Where the first submission of a form shows its result, once it has acted (the second
    of two concurrent submissions waits for it); None if it did not finish in time."""
    deadline = time.monotonic() + timeout
    while True:
        exists, location = rows.result_location(store, result_id=claim.id)
        if not exists or location is not None or time.monotonic() >= deadline:
            return location
        time.sleep(0.05)


def release_form(store: Store, *, claim: Claim) -> None:
    """Forget a claim whose action did not happen (a form with errors), so it can be resent."""
    rows.delete_result(store, result_id=claim.id)


def finish_form(
    store: Store,
    master_key: MasterKey,
    *,
    claim: Claim,
    location: str,
    notice: str,
    secret: str | None = None,
) -> None:
    """Record where the result is shown, what to say there, and the secret to show once."""
    sealed = master_key.seal(secret.encode(), context=claim.id) if secret is not None else None
    rows.finish_result(
        store, result_id=claim.id, location=location, notice=notice, flash_sealed=sealed
    )


def read_notice(store: Store, principal: ConsolePrincipal, *, result_id: str) -> str | None:
    """The notice of one of this session's results, or None."""
    if len(result_id) > 40:
        return None
    return rows.result_notice(store, result_id=result_id, session_hash=principal.session_hash)


def take_secret(
    store: Store, master_key: MasterKey, principal: ConsolePrincipal, *, result_id: str, path: str
) -> str | None:
    """The result's secret the first time it is asked for (and only then), else None; only on
    the page the result was made for (``path``: the client's or the user's)."""
    if len(result_id) > 40:
        return None
    flash = rows.take_flash(
        store,
        result_id=result_id,
        session_hash=principal.session_hash,
        location=with_result(path, result_id),
    )
    if flash is None or flash.created_at + FLASH_SECONDS < time.time():
        return None
    try:
        return master_key.unseal(flash.sealed, context=result_id).decode()
    except InvalidTag:  # sealed under a master key that has since been replaced
        return None
