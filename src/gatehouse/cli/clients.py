"""``gatehouse clients``: application clients."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gatehouse import appclients
from gatehouse.appclients import client_view
from gatehouse.cli.authflags import (
    AuthMethodOpt,
    CertBoundOpt,
    DpopBoundOpt,
    JwksOpt,
    JwksUriOpt,
    TlsSanDnsOpt,
    TlsSanEmailOpt,
    TlsSanIpOpt,
    TlsSanUriOpt,
    TlsSubjectDnOpt,
    auth_changes,
)
from gatehouse.cli.common import (
    CLI_ACTOR,
    AppIdArg,
    Context,
    CustomerOpt,
    JsonOpt,
    emit,
    fail,
    key_values,
    open_context,
    print_table,
    require_customer,
    token_url,
)
from gatehouse.errors import InvalidInput
from gatehouse.propagation import await_readers
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from gatehouse.store.models import KEEP
from gatehouse.store.registrations import RegistrationStore
from gatehouse.store.store import NotFound

app = typer.Typer(no_args_is_help=True, help="Application clients.")


@app.command("create")
def clients_create(
    customer: CustomerOpt,
    name: Annotated[str, typer.Option(help="Client name.")],
    description: Annotated[str, typer.Option(help="Description.")] = "",
    role: Annotated[list[str] | None, typer.Option("--role", help="API role (repeatable).")] = None,
    lifetime: Annotated[int, typer.Option(help="Token lifetime in seconds (300-86400).")] = 0,
    quota: Annotated[
        int | None, typer.Option(help="Tokens per hour this client may get (default: no limit).")
    ] = None,
    as_json: JsonOpt = False,
    auth_method: AuthMethodOpt = None,
    jwks: JwksOpt = None,
    jwks_uri: JwksUriOpt = None,
    tls_subject_dn: TlsSubjectDnOpt = None,
    tls_san_dns: TlsSanDnsOpt = None,
    tls_san_uri: TlsSanUriOpt = None,
    tls_san_ip: TlsSanIpOpt = None,
    tls_san_email: TlsSanEmailOpt = None,
    dpop_bound: DpopBoundOpt = None,
    cert_bound: CertBoundOpt = None,
) -> None:
    """Create an application client and print its id and secret (none for a client that
    authenticates otherwise, e.g. --auth-method private_key_jwt)."""
    ctx = open_context()
    require_customer(ctx, customer)
    fields = auth_changes(
        auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        tls_subject_dn=tls_subject_dn,
        tls_san_dns=tls_san_dns,
        tls_san_uri=tls_san_uri,
        tls_san_ip=tls_san_ip,
        tls_san_email=tls_san_email,
        dpop_bound=dpop_bound,
        cert_bound=cert_bound,
    )
    try:
        record, secret = app_clients.create_client(
            ctx.store,
            ctx.master_key,
            customer_id=customer,
            name=name,
            description=description,
            api_roles=role or [],
            lifetime=lifetime or ctx.settings.token_lifetime,
            quota=quota,
            keep_secret=ctx.settings.secret_retrieval,
            actor=CLI_ACTOR,
            notify=UNHEARD,
            auth_fields=fields,
            allow_insecure_urls=ctx.settings.allow_insecure_urls,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    document: dict[str, Any] = {
        "id": record.id,
        "client_id": record.client_id,
        "client_secret": secret,
        "token_url": token_url(ctx.settings, customer),
        "issuer": ctx.settings.issuer(customer),
        "api_roles": list(record.api_roles),
    }
    if secret is None:  # a secretless client has no client_secret member at all
        del document["client_secret"]
        document["token_endpoint_auth_method"] = record.token_endpoint_auth_method
    emit(as_json, document, key_values(document))


def _get_client(ctx: Context, customer: str, app_id: str) -> Any:
    try:
        return ctx.store.get_client(app_id=app_id, customer_id=customer)
    except NotFound:
        pass
    # The OAuth client_id names a client as well as its app_... id does.
    record = ctx.store.find_client(client_id=app_id)
    if record is None or record.customer_id != customer:
        fail(f"no app client {app_id} for customer {customer}")
    return record


@app.command("list")
def clients_list(customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List a customer's application clients."""
    ctx = open_context()
    require_customer(ctx, customer)
    records = ctx.store.list_clients(customer_id=customer)
    registered = RegistrationStore(ctx.store.engine).registered_app_ids(customer_id=customer)
    views = [client_view(r, registered=r.id in registered) for r in records]
    if as_json:
        emit(True, {"app_clients": views}, "")
    else:
        columns = ["id", "client_id", "name", "api_roles", "enabled", "created_at"]
        print_table(views, columns, empty="no app clients")


@app.command("show")
def clients_show(
    app_id: AppIdArg,
    customer: CustomerOpt,
    show_secret: Annotated[bool, typer.Option("--show-secret", help="Include the secret.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one application client."""
    ctx = open_context()
    record = _get_client(ctx, customer, app_id)
    secret = appclients.reveal_secret(ctx.master_key, record) if show_secret else None
    if show_secret and secret is None:
        fail("this server keeps no copy of secrets (GATEHOUSE_SECRET_RETRIEVAL=false)")
    view = client_view(record, secret=secret)
    emit(as_json, view, key_values(view))


@app.command("update")
def clients_update(
    app_id: AppIdArg,
    customer: CustomerOpt,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="API role (repeatable; replaces all).")
    ] = None,
    lifetime: Annotated[int | None, typer.Option(help="Token lifetime in seconds.")] = None,
    quota: Annotated[int | None, typer.Option(help="Tokens per hour (0: no limit).")] = None,
    as_json: JsonOpt = False,
    auth_method: AuthMethodOpt = None,
    jwks: JwksOpt = None,
    jwks_uri: JwksUriOpt = None,
    tls_subject_dn: TlsSubjectDnOpt = None,
    tls_san_dns: TlsSanDnsOpt = None,
    tls_san_uri: TlsSanUriOpt = None,
    tls_san_ip: TlsSanIpOpt = None,
    tls_san_email: TlsSanEmailOpt = None,
    dpop_bound: DpopBoundOpt = None,
    cert_bound: CertBoundOpt = None,
) -> None:
    """Change an application client; a flag not given leaves its field as it is."""
    ctx = open_context()
    app_id = _get_client(ctx, customer, app_id).id
    auth = auth_changes(
        auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        tls_subject_dn=tls_subject_dn,
        tls_san_dns=tls_san_dns,
        tls_san_uri=tls_san_uri,
        tls_san_ip=tls_san_ip,
        tls_san_email=tls_san_email,
        dpop_bound=dpop_bound,
        cert_bound=cert_bound,
    )
    changes = ClientChanges(
        name=name,
        description=description,
        api_roles=role,
        token_lifetime_seconds=lifetime,
        token_quota_per_hour=KEEP if quota is None else quota or None,  # 0: no limit
        auth=auth,
    )
    if changes.empty():
        fail("nothing to change; see gatehouse clients update --help", 2)
    try:
        record = app_clients.update_client(
            ctx.store,
            customer_id=customer,
            app_id=app_id,
            changes=changes,
            actor=CLI_ACTOR,
            notify=UNHEARD,
            allow_insecure_urls=ctx.settings.allow_insecure_urls,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    # A longer lifetime is in force on every server from its next request (docs/scale.md).
    await_readers(ctx.store)
    view = client_view(record)
    emit(as_json, view, key_values(view))


@app.command("set-quota")
def clients_set_quota(
    app_id: AppIdArg,
    customer: CustomerOpt,
    quota: Annotated[int | None, typer.Option(help="Tokens per hour; omit for no limit.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set or clear a client's hourly token quota."""
    ctx = open_context()
    app_id = _get_client(ctx, customer, app_id).id
    try:
        record = app_clients.update_client(
            ctx.store,
            customer_id=customer,
            app_id=app_id,
            changes=ClientChanges(token_quota_per_hour=quota),
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    document = {"id": record.id, "token_quota_per_hour": record.token_quota_per_hour}
    emit(as_json, document, f"token_quota_per_hour: {record.token_quota_per_hour or 'none'}")


@app.command("rotate-secret")
def clients_rotate(
    app_id: AppIdArg,
    customer: CustomerOpt,
    grace: Annotated[
        int, typer.Option(help="Seconds the old secret keeps working (max 7 days).")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Give a client a new secret."""
    ctx = open_context()
    app_id = _get_client(ctx, customer, app_id).id
    try:
        record, secret = app_clients.rotate_secret(
            ctx.store,
            ctx.master_key,
            customer_id=customer,
            app_id=app_id,
            grace_period_seconds=grace,
            keep_secret=ctx.settings.secret_retrieval,
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except InvalidInput as exc:
        fail(str(exc), 2)
    view = client_view(record, secret=secret)
    emit(as_json, view, f"client_id: {record.client_id}\nclient_secret: {secret}")


@app.command("revoke-tokens")
def clients_revoke(
    app_id: AppIdArg,
    customer: CustomerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Reject every token issued to a client so far."""
    ctx = open_context()
    app_id = _get_client(ctx, customer, app_id).id
    record = app_clients.revoke_tokens(
        ctx.store, customer_id=customer, app_id=app_id, actor=CLI_ACTOR, notify=UNHEARD
    )
    emit(
        as_json,
        {"id": record.id, "tokens_revoked_before": record.tokens_revoked_before},
        "tokens revoked",
    )


@app.command("delete")
def clients_delete(
    app_id: AppIdArg,
    customer: CustomerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Delete a client; its tokens stop working."""
    ctx = open_context()
    app_id = _get_client(ctx, customer, app_id).id
    app_clients.delete_client(
        ctx.store, customer_id=customer, app_id=app_id, actor=CLI_ACTOR, notify=UNHEARD
    )
    emit(as_json, {"id": app_id, "deleted": True}, f"deleted {app_id}")
