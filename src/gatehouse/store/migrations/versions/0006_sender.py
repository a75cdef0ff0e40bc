"""DPoP proof jti values, single-use across processes (RFC 9449 §11.1)

Revision ID: 0006_sender
Revises: 0005_secretless
Create Date: 2026-12-01 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sender"
down_revision = "0005_secretless"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dpop_proofs",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_dpop_proofs_expires", "dpop_proofs", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dpop_proofs_expires", table_name="dpop_proofs")
    op.drop_table("dpop_proofs")
