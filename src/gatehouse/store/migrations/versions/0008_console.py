"""console results: one-time form tokens and flashes

Revision ID: 0008_console
Revises: 0007_apis
Create Date: 2026-12-01 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_console"
down_revision = "0007_apis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_results",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("form_token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("flash_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("form_token_hash", name="uq_console_results_form_token"),
    )
    with op.batch_alter_table("console_results", schema=None) as batch_op:
        batch_op.create_index("ix_console_results_session", ["session_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_results", schema=None) as batch_op:
        batch_op.drop_index("ix_console_results_session")
    op.drop_table("console_results")
