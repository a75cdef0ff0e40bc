"""``gatehouse audit``: a customer's audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from gatehouse.cli.common import (
    CustomerOpt,
    JsonOpt,
    emit,
    open_context,
    print_table,
    require_customer,
)


def audit(
    customer: CustomerOpt,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Newest events to show.")] = 50,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. token.issue.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a customer's audit log, newest first."""
    from gatehouse.appclients import iso_time
    from gatehouse.services.audit import read_audit

    ctx = open_context()
    require_customer(ctx, customer)
    events = read_audit(ctx.store, customer_id=customer, limit=limit, action=action).events
    rows = [
        {
            "id": e.id,
            "at": iso_time(e.at),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "source": e.source,
            "detail": e.detail,
        }
        for e in events
    ]
    if as_json:
        emit(True, {"events": rows}, "")
    else:
        print_table(rows, ["at", "action", "actor", "target", "source"], empty="no events")
