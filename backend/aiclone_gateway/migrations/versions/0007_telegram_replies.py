"""Telegram answers sent once: who answers each stored question (a claim), and each reply with
a sent-marker stored before sendMessage and its ``message_id`` after, so a restart or another
replica never sends a reply twice.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_pending") as batch:
        batch.add_column(sa.Column("replica", sa.String(128), nullable=True))
    op.create_table(
        "telegram_replies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("question_id", sa.Integer(), nullable=False, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("question_id", "position", name="uq_telegram_reply"),
    )


def downgrade() -> None:
    op.drop_table("telegram_replies")
    with op.batch_alter_table("telegram_pending") as batch:
        batch.drop_column("replica")
