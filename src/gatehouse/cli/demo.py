"""``gatehouse demo``: the demo customer, idempotent."""

from __future__ import annotations

from gatehouse.cli.common import JsonOpt, emit, open_context


def demo(as_json: JsonOpt = False) -> None:
    """Create the demo customer, an owner app client and a console user (idempotent)."""
    from gatehouse.demo import ensure_demo

    ctx = open_context()
    document = ensure_demo(ctx.settings, ctx.store, ctx.master_key)
    emit(as_json, document, "\n".join(f"{k}: {v}" for k, v in document.items()))
