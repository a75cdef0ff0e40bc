"""secretless clients: per-client authentication method and keys, sender-constraint flags,
federated credentials and single-use assertion ids

Revision ID: 0005_secretless
Revises: 0004_harden_b
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_secretless"
down_revision = "0004_harden_b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "token_endpoint_auth_method",
                sa.String(length=40),
                nullable=False,
                server_default="client_secret_basic",
            )
        )
        batch_op.add_column(sa.Column("jwks", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("jwks_uri", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tls_client_auth_subject_dn", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tls_client_auth_san_dns", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tls_client_auth_san_uri", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tls_client_auth_san_ip", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tls_client_auth_san_email", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "dpop_bound_access_tokens",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column(
                "tls_client_certificate_bound_access_tokens",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    op.create_table(
        "federated_credentials",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("claims", sa.Text(), nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("allow_any_subject", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["app_clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("federated_credentials", schema=None) as batch_op:
        batch_op.create_index("ix_federated_credentials_app", ["app_id"], unique=False)
    op.create_table(
        "used_assertions",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.create_index("ix_used_assertions_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.drop_index("ix_used_assertions_expires")
    op.drop_table("used_assertions")
    with op.batch_alter_table("federated_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_federated_credentials_app")
    op.drop_table("federated_credentials")
    with op.batch_alter_table("app_clients", schema=None) as batch_op:
        for name in (
            "tls_client_certificate_bound_access_tokens",
            "dpop_bound_access_tokens",
            "tls_client_auth_san_email",
            "tls_client_auth_san_ip",
            "tls_client_auth_san_uri",
            "tls_client_auth_san_dns",
            "tls_client_auth_subject_dn",
            "jwks_uri",
            "jwks",
            "token_endpoint_auth_method",
        ):
            batch_op.drop_column(name)
