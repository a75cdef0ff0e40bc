"""The permission table of SPEC §1, as predicates and checks over a :class:`Principal`.

| action                                   | allowed for                                        |
|------------------------------------------|----------------------------------------------------|
| list / get corpora                       | any token; all corpora with an account role,       |
|                                          | otherwise only corpora it has a corpus role on     |
| create corpus                            | owner, administrator, corpus_administrator,        |
|                                          | corpus_developer                                   |
| update / delete corpus                   | owner, administrator, corpus_administrator, or     |
|                                          | corpus role owner / administrator on it            |
| list, read and manage app clients        | owner, administrator; only an owner grants owner   |

Two decisions the table leaves open: a corpus the caller may not see is a 404, never a 403
(its existence is not revealed); and an administrator may read but not change, rotate,
revoke, delete or copy the secret of an ``owner`` client (doing so would let it act as owner).
"""

from __future__ import annotations

from collections.abc import Iterable

from gatehouse.api.bearer import Principal
from gatehouse.appclients import may_change_client, may_grant
from gatehouse.oauth.metadata import API_ROLES
from gatehouse.verify.errors import InsufficientScope

ACCOUNT_ROLES = frozenset(API_ROLES)
CORPUS_CREATORS = frozenset({"owner", "administrator", "corpus_administrator", "corpus_developer"})
CORPUS_MANAGERS = frozenset({"owner", "administrator", "corpus_administrator"})
CORPUS_ROLE_MANAGERS = frozenset({"owner", "administrator"})
CLIENT_MANAGERS = frozenset({"owner", "administrator"})


def _refuse(action: str, roles: Iterable[str]) -> InsufficientScope:
    # RFC 6750 §3.1: a valid token lacking the privileges required gets insufficient_scope.
    return InsufficientScope(f"{action} requires one of the roles: {' '.join(sorted(roles))}")


def sees_all_corpora(principal: Principal) -> bool:
    return bool(principal.api_roles & ACCOUNT_ROLES)


def visible_corpus_keys(principal: Principal) -> frozenset[str] | None:
    """None when every corpus is visible; otherwise the keys the principal has a role on."""
    if sees_all_corpora(principal):
        return None
    return frozenset(r.corpus_key for r in principal.corpus_roles)


def can_see_corpus(principal: Principal, corpus_key: str) -> bool:
    return sees_all_corpora(principal) or bool(principal.corpus_role(corpus_key))


def require_create_corpus(principal: Principal) -> None:
    if not principal.api_roles & CORPUS_CREATORS:
        raise _refuse("creating a corpus", CORPUS_CREATORS)


def require_manage_corpus(principal: Principal, corpus_key: str) -> None:
    if principal.api_roles & CORPUS_MANAGERS:
        return
    if principal.corpus_role(corpus_key) & CORPUS_ROLE_MANAGERS:
        return
    raise _refuse(
        "changing this corpus", {*CORPUS_MANAGERS, *(f"corpus:{r}" for r in CORPUS_ROLE_MANAGERS)}
    )


def require_client_manager(principal: Principal) -> None:
    if not principal.api_roles & CLIENT_MANAGERS:
        raise _refuse("app clients", CLIENT_MANAGERS)


def require_may_grant(principal: Principal, api_roles: Iterable[str]) -> None:
    """SPEC §1: only an owner may grant ``owner``."""
    if not may_grant(principal.api_roles, api_roles):
        raise _refuse("granting the owner role", {"owner"})


def require_may_change_client(principal: Principal, client_roles: Iterable[str]) -> None:
    """Changing, rotating, revoking or deleting a client holding ``owner`` needs ``owner``."""
    require_client_manager(principal)
    if not may_change_client(principal.api_roles, client_roles):
        raise _refuse("changing an owner client", {"owner"})


def may_copy_secret(principal: Principal, client_roles: Iterable[str]) -> bool:
    if not principal.api_roles & CLIENT_MANAGERS:
        return False
    return may_change_client(principal.api_roles, client_roles)
