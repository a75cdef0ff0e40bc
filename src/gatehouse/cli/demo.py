"""``gatehouse demo``: the demo customer, idempotent."""

from __future__ import annotations

from gatehouse.cli.common import JsonOpt, emit, key_values, open_context


def demo(as_json: JsonOpt = False) -> None:
    """Create the demo customer, an owner app client and a console user (idempotent)."""
    from gatehouse.demo import RESET_HINT, ensure_demo

    ctx = open_context()
    document = ensure_demo(ctx.settings, ctx.store, ctx.master_key)
    text = dict(document)
    if text["console_password"] is None:  # printed once, when the user was created
        text["console_password"] = f"(unchanged; a new one: {RESET_HINT})"
    emit(as_json, document, key_values(text))
