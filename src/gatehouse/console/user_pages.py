"""The console users page (``/console/users``): who may sign in to this account's console.

Owners and administrators see the list. A user is added with a generated password, shown once
to the one who added them (there is no mail to send an invitation with); a reset makes a new
one the same way and ends the user's sessions. Only an owner may add an owner, change a role,
or act on an owner, and the last owner can be neither removed nor demoted.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.console import results
from gatehouse.console.pages import ConsoleRequest, Done, Handler, Pages
from gatehouse.console.render import field
from gatehouse.errors import InvalidInput
from gatehouse.services.console_users import (
    NotAllowed,
    create_user,
    delete_user,
    may_manage,
    reset_password,
    set_user_role,
)
from gatehouse.store.store import Conflict, NotFound
from gatehouse.users import (
    USER_ROLES,
    ConsoleUser,
    LastOwner,
    generate_password,
    get_user,
    list_users,
)

BASE = "/console/users"
ROLE_HELP = {
    "owner": "Everything, including managing owners and granting the owner role.",
    "administrator": "App clients, keys, corpora, the audit log and administrators.",
}
CONFIRM = {
    "reset-password": {
        "title": "Reset the password of {email}?",
        "message": "A new password is made and shown to you once. The current password stops "
        "working and every session of this user ends.",
        "button": "Reset password",
    },
    "delete": {
        "title": "Remove {email}?",
        "message": "They can no longer sign in to this console, and their sessions end at once.",
        "button": "Remove user",
    },
}


def user_routes(pages: Pages) -> list[BaseRoute]:
    runtime, store = pages.runtime, pages.runtime.store

    def is_owner(page: ConsoleRequest) -> bool:
        return page.principal.user.role == "owner"

    def load(page: ConsoleRequest) -> ConsoleUser:
        user = get_user(store, user_id=page.path_param("user_id"))
        if user is None or user.customer_id != page.customer_id:
            raise NotFound(page.path_param("user_id"))
        return user

    def managed(page: ConsoleRequest) -> ConsoleUser:
        user = load(page)
        if not may_manage(page.principal.user, user):
            raise NotAllowed("self" if user.id == page.principal.user.id else "owners_only")
        return user

    def refuse(page: ConsoleRequest, message: str, status: int = 403) -> Response:
        return pages.error_page(page.request, page.principal, status, message)

    def list_page(
        page: ConsoleRequest,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        users = list_users(store, customer_id=page.customer_id)
        return pages.renderer.page(
            page.request,
            "users.html",
            principal=page.principal,
            status=400 if errors else 200,
            active="users",
            users=[{"user": u, "can_manage": may_manage(page.principal.user, u)} for u in users],
            owners=sum(1 for u in users if u.role == "owner"),
            roles=[
                {"name": r, "help": ROLE_HELP[r], "allowed": r != "owner" or is_owner(page)}
                for r in USER_ROLES
            ],
            is_owner=is_owner(page),
            values=values or {"email": "", "role": "administrator"},
            errors=errors or {},
            confirm=CONFIRM,
        )

    def show(page: ConsoleRequest) -> Response:
        return list_page(page)

    def add(page: ConsoleRequest) -> Done | Response:
        values = {"email": field(page.form, "email").strip(), "role": field(page.form, "role")}
        errors: dict[str, str] = {}
        password = generate_password()
        try:
            user_id = create_user(
                store,
                customer_id=page.customer_id,
                email=values["email"],
                role=values["role"],
                password=password,
                actor=page.actor.name,
                by=page.principal.user,
            )
        except NotAllowed:
            errors["role"] = "Only an owner may add an owner."
        except InvalidInput as exc:
            errors = {
                "email": "Enter an email address." if "email" in exc.field_errors else "",
                "role": "Choose a role." if "role" in exc.field_errors else "",
            }
            errors = {k: v for k, v in errors.items() if v}
        except Conflict:
            errors["email"] = "A console user with this email exists already."
        if errors:
            return list_page(page, values=values, errors=errors)
        email = values["email"].lower()
        return Done(
            location=f"{BASE}/{user_id}/password",
            notice=f"Added {email} as {values['role']}.",
            secret=password,
        )

    def password_page(page: ConsoleRequest) -> Response:
        user = load(page)
        password = results.take_secret(
            store,
            runtime.master_key,
            page.principal,
            result_id=page.request.query_params.get("done", ""),
            path=page.request.url.path,
        )
        return pages.renderer.page(
            page.request,
            "user_password.html",
            principal=page.principal,
            active="users",
            user=user,
            password=password,
            login_url=f"{runtime.settings.base_url}/console/login",
            notice_in_heading=True,
        )

    def change_role(page: ConsoleRequest) -> Done | Response:
        try:
            user = set_user_role(
                store,
                customer_id=page.customer_id,
                user_id=page.path_param("user_id"),
                role=field(page.form, "role"),
                actor=page.actor.name,
                by=page.principal.user,
            )
        except NotAllowed as exc:
            if exc.reason == "owners_only":
                return refuse(page, "Only an owner may change the role of a console user.")
            return refuse(page, "You cannot change your own role here; ask another owner.")
        except InvalidInput:
            return refuse(page, "Choose the role owner or administrator.", 400)
        except LastOwner as exc:
            return refuse(
                page,
                f"{exc} is the last owner of this account; make another user an owner first.",
                409,
            )
        return Done(location=BASE, notice=f"Changed the role of {user.email} to {user.role}.")

    def reset(page: ConsoleRequest) -> Done | Response:
        password = generate_password()
        try:
            user = reset_password(
                store,
                customer_id=page.customer_id,
                user_id=page.path_param("user_id"),
                password=password,
                actor=page.actor.name,
                by=page.principal.user,
            )
        except NotAllowed as exc:
            return refuse(page, not_allowed_message(exc))
        return Done(
            location=f"{BASE}/{user.id}/password",
            notice=f"Reset the password of {user.email}.",
            secret=password,
        )

    def remove(page: ConsoleRequest) -> Done | Response:
        try:
            user = delete_user(
                store,
                customer_id=page.customer_id,
                user_id=page.path_param("user_id"),
                actor=page.actor.name,
                by=page.principal.user,
            )
        except NotAllowed as exc:
            return refuse(page, not_allowed_message(exc))
        except LastOwner as exc:
            return refuse(
                page, f"{exc} is the last owner of this account and cannot be removed.", 409
            )
        return Done(location=BASE, notice=f"Removed {user.email}. Their sessions have ended.")

    def not_allowed_message(exc: NotAllowed) -> str:
        if exc.reason == "self":
            return "You cannot do this to your own account here; ask another owner."
        return "Only an owner may reset the password of, or remove, an owner."

    def confirm(action: str) -> Handler:
        def show(page: ConsoleRequest) -> Response:
            try:
                user = managed(page)
            except NotAllowed as exc:
                return refuse(page, not_allowed_message(exc))
            texts = CONFIRM[action]
            return pages.renderer.page(
                page.request,
                "confirm.html",
                principal=page.principal,
                active="users",
                title=texts["title"].format(email=user.email),
                message=texts["message"],
                action_url=f"{BASE}/{user.id}/{action}",
                button=texts["button"],
                danger=True,
                back_url=BASE,
                hidden={},
                grace_choices=(),
            )

        return show

    def confirm_url(action: str) -> Callable[[ConsoleRequest], str]:
        return lambda page: f"{BASE}/{page.path_param('user_id')}/{action}"

    return [
        Route(BASE, pages.signed_in(show), methods=["GET"]),
        Route(BASE, pages.acting(add), methods=["POST"]),
        Route(f"{BASE}/{{user_id}}/password", pages.signed_in(password_page), methods=["GET"]),
        Route(f"{BASE}/{{user_id}}/role", pages.acting(change_role), methods=["POST"]),
        Route(
            f"{BASE}/{{user_id}}/reset-password",
            pages.signed_in(confirm("reset-password")),
            methods=["GET"],
        ),
        Route(
            f"{BASE}/{{user_id}}/reset-password",
            pages.acting(reset, confirm=confirm_url("reset-password")),
            methods=["POST"],
        ),
        Route(f"{BASE}/{{user_id}}/delete", pages.signed_in(confirm("delete")), methods=["GET"]),
        Route(
            f"{BASE}/{{user_id}}/delete",
            pages.acting(remove, confirm=confirm_url("delete")),
            methods=["POST"],
        ),
    ]
