"""Token revocation (RFC 7009): the use-case behind ``POST /oauth2/revoke`` once the protocol
core has authenticated the client and checked the token (``gatehouse.oauth.revocation``).

The deny entry, its change-feed row and the audit row are one transaction
(``gatehouse.store.revocations``); the notifier is then told, so this process rejects the token
from the next request on and the others within a second (docs/architecture.md).
"""

from __future__ import annotations

import time

from gatehouse.revocations import revoke_jti
from gatehouse.services.notify import Notifier
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store


def revoke_token(
    store: Store,
    *,
    customer_id: str,
    client_id: str,
    app_id: str,
    jti: str,
    expires_at: float,
    source: str | None,
    notify: Notifier,
) -> bool:
    """Deny the token ``jti`` until it expires; False when it was denied already (then nothing
    is written). The notifier is told either way: an entry another process just wrote may not
    have reached this process's deny set yet."""
    event = AuditEvent(
        customer_id=customer_id,
        at=time.time(),
        actor=client_id,
        action="token.revoke",
        target=app_id,
        source=source,
        detail={"jti": jti},
    )
    added = revoke_jti(
        store,
        customer_id=customer_id,
        client_id=client_id,
        jti=jti,
        expires_at=expires_at,
        audit=event,
    )
    notify.changed()
    return added
