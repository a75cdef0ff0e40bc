"""APIs (resource servers), per-client grants on them, and dynamic client registration

Every existing customer gets its built-in API: a row whose ``identifier`` is NULL, meaning "the
configured ``GATEHOUSE_AUDIENCE``" (a migration cannot know the setting, and the setting may
change). Its grant is each client's ``api_roles``, so no grant rows are written and every
existing client keeps getting the same tokens.

Revision ID: 0007_apis
Revises: 0006_sender
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import secrets
import time

import sqlalchemy as sa
from alembic import op

revision = "0007_apis"
down_revision = "0006_sender"
branch_labels = None
depends_on = None

BUILTIN_NAME = "Gatehouse API"
BUILTIN_DESCRIPTION = "The built-in API (corpora, app clients); its scopes are the account roles."


def upgrade() -> None:
    apis = op.create_table(
        "apis",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=63), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=True),
        sa.Column("match_key", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("token_lifetime_seconds", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "match_key", name="uq_apis_customer_match_key"),
    )
    op.create_table(
        "api_grants",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("api_id", sa.String(length=40), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["app_clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["api_id"], ["apis.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app_id", "api_id"),
    )
    with op.batch_alter_table("api_grants", schema=None) as batch_op:
        batch_op.create_index("ix_api_grants_api", ["api_id"], unique=False)
    # RFC 7591 initial access tokens (stored hashed) and the registrations they made.
    op.create_table(
        "initial_access_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=63), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_initial_access_tokens_hash"),
    )
    op.create_table(
        "client_registrations",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=63), nullable=False),
        sa.Column("access_token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("allowed_roles", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("initial_token_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["app_clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("app_id"),
    )
    with op.batch_alter_table("client_registrations", schema=None) as batch_op:
        batch_op.create_index("ix_client_registrations_customer", ["customer_id"], unique=False)
    customers = sa.table("customers", sa.column("id", sa.String))
    now = time.time()
    rows = [
        {
            "id": "api_" + secrets.token_hex(8),
            "customer_id": customer_id,
            "identifier": None,
            "match_key": None,
            "name": BUILTIN_NAME,
            "description": BUILTIN_DESCRIPTION,
            "scopes": "[]",
            "token_lifetime_seconds": None,
            "created_at": now,
            "updated_at": now,
        }
        for (customer_id,) in op.get_bind().execute(sa.select(customers.c.id))
    ]
    if rows:
        op.bulk_insert(apis, rows)


def downgrade() -> None:
    op.drop_table("client_registrations")
    op.drop_table("initial_access_tokens")
    op.drop_table("api_grants")
    op.drop_table("apis")
