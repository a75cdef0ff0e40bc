"""Store verbs for console sessions (``console_sessions``) and the one-time results of console
forms (``console_results``); ``gatehouse.console.sessions`` and ``gatehouse.console.results``
say what they mean. Only digests of the cookie and of form tokens are stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t
from gatehouse.store.store import Store
from gatehouse.store.users import ConsoleUser

_s = t.console_sessions.c
_u = t.console_users.c
_r = t.console_results.c


@dataclass(frozen=True, slots=True)
class SessionRecord:
    user: ConsoleUser
    csrf_token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class ResultClaim:
    """The stored claim of a form token: the result's id, its session and where it is shown."""

    id: str
    session_hash: str
    location: str | None


@dataclass(frozen=True, slots=True)
class Flash:
    sealed: bytes
    created_at: float


def insert_session(
    store: Store,
    *,
    id_hash: str,
    user_id: str,
    csrf_token: str,
    created_at: float,
    expires_at: float,
) -> None:
    """A new session; expired sessions and results are dropped in the same transaction."""
    with store.engine.begin() as conn:
        conn.execute(delete(t.console_sessions).where(_s.expires_at < created_at))
        conn.execute(delete(t.console_results).where(_r.expires_at < created_at))
        conn.execute(
            insert(t.console_sessions).values(
                id_hash=id_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=created_at,
                expires_at=expires_at,
            )
        )


def find_session(store: Store, *, id_hash: str) -> SessionRecord | None:
    """The session with this digest and its user, expired or not; None if there is none."""
    query = (
        select(_s.csrf_token, _s.expires_at, _u.id, _u.customer_id, _u.email, _u.role)
        .join_from(t.console_sessions, t.console_users, _s.user_id == _u.id)
        .where(_s.id_hash == id_hash)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    user = ConsoleUser(id=row.id, customer_id=row.customer_id, email=row.email, role=row.role)
    return SessionRecord(user=user, csrf_token=row.csrf_token, expires_at=row.expires_at)


def delete_session(store: Store, *, id_hash: str) -> None:
    """End a session and forget its results."""
    with store.engine.begin() as conn:
        conn.execute(delete(t.console_sessions).where(_s.id_hash == id_hash))
        conn.execute(delete(t.console_results).where(_r.session_hash == id_hash))


# -- one-time results ---------------------------------------------------------------------------


def insert_claim(
    store: Store,
    *,
    result_id: str,
    form_token_hash: str,
    session_hash: str,
    created_at: float,
    expires_at: float,
) -> bool:
    """Claim a form token (its digest is unique); False when it is claimed already."""
    try:
        with store.engine.begin() as conn:
            conn.execute(
                insert(t.console_results).values(
                    id=result_id,
                    form_token_hash=form_token_hash,
                    session_hash=session_hash,
                    created_at=created_at,
                    expires_at=expires_at,
                )
            )
    except IntegrityError:
        return False
    return True


def find_claim(store: Store, *, form_token_hash: str) -> ResultClaim | None:
    query = select(_r.id, _r.session_hash, _r.location).where(_r.form_token_hash == form_token_hash)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return ResultClaim(row.id, row.session_hash, row.location) if row is not None else None


def result_location(store: Store, *, result_id: str) -> tuple[bool, str | None]:
    """Whether the result exists, and where it is shown (None until its action finished)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(_r.location).where(_r.id == result_id)).first()
    return (row is not None, row.location if row is not None else None)


def delete_result(store: Store, *, result_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(t.console_results).where(_r.id == result_id))


def finish_result(
    store: Store, *, result_id: str, location: str, notice: str, flash_sealed: bytes | None
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(t.console_results)
            .where(_r.id == result_id)
            .values(location=location, notice=notice, flash_sealed=flash_sealed)
        )


def result_notice(store: Store, *, result_id: str, session_hash: str) -> str | None:
    query = select(_r.notice).where((_r.id == result_id) & (_r.session_hash == session_hash))
    with store.engine.connect() as conn:
        notice: str | None = conn.execute(query).scalar()
    return notice


def take_flash(store: Store, *, result_id: str, session_hash: str, location: str) -> Flash | None:
    """The sealed secret of a result, taken away: of two concurrent calls only one gets it."""
    mine = (_r.id == result_id) & (_r.session_hash == session_hash) & (_r.location == location)
    with store.engine.begin() as conn:
        row = conn.execute(select(_r.flash_sealed, _r.created_at).where(mine)).first()
        if row is None or row.flash_sealed is None:
            return None
        # Taking it is one conditional write: of two concurrent reads, only one gets a row.
        taken = conn.execute(
            update(t.console_results)
            .where(mine & _r.flash_sealed.is_not(None))
            .values(flash_sealed=None)
        ).rowcount
    if taken != 1:
        return None
    return Flash(sealed=bytes(row.flash_sealed), created_at=row.created_at)
