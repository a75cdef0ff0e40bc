"""corpus roles one row each (app_client_corpus_roles replaces app_clients.corpus_roles), and
the change-feed readers (change_readers)

Revision ID: 0010_corpus_roles
Revises: 0009_ops
Create Date: 2026-12-01 23:30:00

Granting one role writes one row (docs/scale.md "Corpus roles"), instead of re-writing the
client's whole role list. The JSON column's roles are moved over, de-duplicated, and the column
is dropped (SQLite 3.35+ drops it in place: no copy of app_clients, whose children cascade).

Every serving process records in ``change_readers`` the change-feed cursor it has applied, with
a heartbeat, so a writer can wait until every live process applied its change (docs/scale.md
"What the feed carries").
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0010_corpus_roles"
down_revision = "0009_ops"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    roles = op.create_table(
        "app_client_corpus_roles",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("corpus_key", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["app_clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app_id", "corpus_key", "role"),
    )
    op.create_index("ix_app_client_corpus_roles_key", "app_client_corpus_roles", ["corpus_key"])
    conn = op.get_bind()
    # Most clients hold no corpus role: only the others are read (into memory: the same
    # connection inserts next).
    query = "SELECT id, corpus_roles FROM app_clients WHERE corpus_roles <> '[]'"
    rows = conn.execute(sa.text(query)).all()
    batch: list[dict[str, str]] = []
    for app_id, encoded in rows:
        seen: set[tuple[str, str]] = set()
        for item in orjson.loads(encoded or "[]"):
            pair = (str(item["corpus_key"]), str(item["role"]))
            if pair not in seen:
                seen.add(pair)
                batch.append({"app_id": app_id, "corpus_key": pair[0], "role": pair[1]})
        if len(batch) >= _BATCH:
            op.bulk_insert(roles, batch)
            batch = []
    if batch:
        op.bulk_insert(roles, batch)
    op.drop_column("app_clients", "corpus_roles")
    op.create_table(
        "change_readers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("change_readers")
    op.add_column(
        "app_clients",
        sa.Column("corpus_roles", sa.Text(), nullable=False, server_default="[]"),
    )
    conn = op.get_bind()
    grouped: dict[str, list[dict[str, str]]] = {}
    query = "SELECT app_id, corpus_key, role FROM app_client_corpus_roles ORDER BY 1, 2, 3"
    for app_id, corpus_key, role in conn.execute(sa.text(query)):
        grouped.setdefault(app_id, []).append({"corpus_key": corpus_key, "role": role})
    for app_id, items in grouped.items():
        conn.execute(
            sa.text("UPDATE app_clients SET corpus_roles = :roles WHERE id = :id"),
            {"roles": orjson.dumps(items).decode(), "id": app_id},
        )
    op.drop_index("ix_app_client_corpus_roles_key", table_name="app_client_corpus_roles")
    op.drop_table("app_client_corpus_roles")
