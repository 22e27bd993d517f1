"""Telegram webhook delivery: bots, seen updates, pending questions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_bots",
        sa.Column("bot_id", sa.String(32), primary_key=True),
        sa.Column("token_sealed", sa.Text(), nullable=False),
        sa.Column("secret_token", sa.String(128), nullable=False),
        sa.Column("api_url", sa.String(500), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "telegram_seen_updates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("bot_id", "update_id", name="uq_telegram_update"),
    )
    op.create_table(
        "telegram_pending",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bot_id", sa.String(32), nullable=False, index=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("telegram_pending")
    op.drop_table("telegram_seen_updates")
    op.drop_table("telegram_bots")
