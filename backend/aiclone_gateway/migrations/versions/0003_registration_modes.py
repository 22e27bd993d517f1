"""Registration modes (open / invite / closed), single-use invite links, cited sources of answers.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sources", sa.Text(), nullable=True))
    with op.batch_alter_table("gateway_state") as batch:
        batch.add_column(sa.Column("registration_mode", sa.String(16), nullable=False, server_default="open"))
    op.execute(
        "UPDATE gateway_state SET registration_mode = CASE WHEN registration_open THEN 'open' ELSE 'closed' END"
    )
    with op.batch_alter_table("gateway_state") as batch:
        batch.drop_column("registration_open")
    op.create_table(
        "invites",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("used_by", sa.String(32), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sources")
    op.drop_table("invites")
    with op.batch_alter_table("gateway_state") as batch:
        batch.add_column(
            sa.Column("registration_open", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute("UPDATE gateway_state SET registration_open = (registration_mode = 'open')")
    with op.batch_alter_table("gateway_state") as batch:
        batch.drop_column("registration_mode")
