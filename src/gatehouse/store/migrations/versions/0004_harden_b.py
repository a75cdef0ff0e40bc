"""corpora listed by (customer_id, id)

ListCorpora pages through a customer's corpora in id order (``id > :after ORDER BY id LIMIT n``).
With only the (customer_id, key) unique index, every page sorted all of the customer's corpora:
a filtered scan over 50,000 of them took ~0.2 s per 1,000 rows. This index makes each page a
range read of the rows it returns.

Revision ID: 0004_harden_b
Revises: 0002_key_check
Create Date: 2026-12-01 20:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_harden_b"
down_revision = "0002_key_check"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_corpora_customer_id", "corpora", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_corpora_customer_id", table_name="corpora")
