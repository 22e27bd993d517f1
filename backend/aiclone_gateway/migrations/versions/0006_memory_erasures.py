"""Erasures of a deleted account's memories that the agent has not acknowledged yet (kept while
the agent is offline, across gateway restarts).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "memory_erasures",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("memory_erasures")
