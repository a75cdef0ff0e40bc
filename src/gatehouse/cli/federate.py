"""``gatehouse clients federate``: the federated credentials of an app client (workload identity
federation, docs/secretless.md) — add, list, remove, and test an outside token against them."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from gatehouse import federation
from gatehouse.cli.common import CLI_ACTOR, AppIdArg, CustomerOpt, JsonOpt, emit, fail, open_context
from gatehouse.errors import InvalidInput
from gatehouse.secretless.keyfetch import KeyFetcher
from gatehouse.services import federated_credentials as service
from gatehouse.services.notify import UNHEARD
from gatehouse.store import federated
from gatehouse.store.store import NotFound

app = typer.Typer(no_args_is_help=True, help="Federated credentials (outside issuers trusted).")


def _claims(pairs: list[str]) -> dict[str, str]:
    claims: dict[str, str] = {}
    for pair in pairs:
        name, sep, pattern = pair.partition("=")
        if not sep or not name:
            fail(f"--claim takes NAME=PATTERN, not {pair!r}", 2)
        claims[name] = pattern
    return claims


def _line(view: dict[str, Any]) -> str:
    claims = " ".join(f"{k}={v}" for k, v in view["claims"].items())
    return f"{view['id']}  {view['name']}  {view['issuer']}  {view['subject']}  {claims}".rstrip()


@app.command("add")
def federate_add(
    app_id: AppIdArg,
    customer: CustomerOpt,
    name: Annotated[str, typer.Option(help="A name for the credential.")],
    issuer: Annotated[str, typer.Option(help="https URL of the outside issuer.")],
    subject: Annotated[str, typer.Option(help="sub: exact, or a pattern with * and **.")],
    audience: Annotated[
        str | None, typer.Option(help="What the token's aud must contain (default: the issuer).")
    ] = None,
    claim: Annotated[
        list[str] | None, typer.Option("--claim", help="NAME=PATTERN a claim must match.")
    ] = None,
    single_use: Annotated[
        bool, typer.Option("--single-use", help="Each outside token once (needs a jti).")
    ] = False,
    allow_any_subject: Annotated[
        bool, typer.Option("--allow-any-subject", help="Allow a rule that pins nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Trust tokens of an outside issuer that match the rules."""
    ctx = open_context()
    try:
        record = service.add_credential(
            ctx.store,
            customer_id=customer,
            app_id=app_id,
            fields={
                "name": name,
                "issuer": issuer,
                "audience": audience,
                "subject": subject,
                "claims": _claims(claim or []),
                "single_use": single_use,
                "allow_any_subject": allow_any_subject,
            },
            allow_insecure=ctx.settings.allow_insecure_urls,
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except NotFound:
        fail(f"no app client {app_id} for customer {customer}")
    except InvalidInput as exc:
        fail(str(exc), 2)
    view = federation.view(record)
    emit(as_json, view, _line(view))


def _client(ctx: Any, customer: str, app_id: str) -> None:
    try:
        ctx.store.get_client(app_id=app_id, customer_id=customer)
    except NotFound:
        fail(f"no app client {app_id} for customer {customer}")


@app.command("list")
def federate_list(app_id: AppIdArg, customer: CustomerOpt, as_json: JsonOpt = False) -> None:
    """List the federated credentials of an app client."""
    ctx = open_context()
    _client(ctx, customer, app_id)
    views = [federation.view(r) for r in federated.list_credentials(ctx.store, app_id=app_id)]
    emit(
        as_json,
        {"federated_credentials": views},
        "\n".join(_line(v) for v in views) or "no federated credentials",
    )


@app.command("remove")
def federate_remove(
    app_id: AppIdArg,
    credential_id: Annotated[str, typer.Argument(help="Credential id (fc_...).")],
    customer: CustomerOpt,
    as_json: JsonOpt = False,
) -> None:
    """Stop trusting one outside issuer rule."""
    ctx = open_context()
    try:
        service.remove_credential(
            ctx.store,
            customer_id=customer,
            app_id=app_id,
            credential_id=credential_id,
            actor=CLI_ACTOR,
            notify=UNHEARD,
        )
    except NotFound:
        fail(f"no federated credential {credential_id} on app client {app_id}")
    emit(as_json, {"id": credential_id, "deleted": True}, f"removed {credential_id}")


@app.command("test")
def federate_test(
    app_id: AppIdArg,
    customer: CustomerOpt,
    token: Annotated[str, typer.Option(help="The outside token to try (issues nothing).")],
    as_json: JsonOpt = False,
) -> None:
    """Explain, per credential, why an outside token matches or not."""
    ctx = open_context()
    _client(ctx, customer, app_id)
    records = federated.list_credentials(ctx.store, app_id=app_id)
    fetcher = KeyFetcher(allow_insecure=ctx.settings.allow_insecure_urls)
    audience = ctx.settings.issuer(customer)

    async def run() -> list[dict[str, Any]]:
        return [
            (await federation.evaluate(fetcher, r, token, default_audience=audience)).as_result()
            for r in records
        ]

    results = asyncio.run(run())
    lines = [
        f"{r['credential_id']}  {r['name']}  "
        + ("matched" if r["matched"] else f"no: {r['failed_check']}: {r['reason']}")
        for r in results
    ]
    emit(as_json, {"results": results}, "\n".join(lines) or "no federated credentials")
