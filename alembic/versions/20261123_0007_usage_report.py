"""The usage report: each user's time zone, and the index that finds a charge's usage row.

`users.time_zone` holds an IANA name chosen on the account page ('' = the
site's IMGAPP_TIMEZONE). `usage_logs.ledger_entry_id` gets a UNIQUE index:
there is one usage row per charge, and the report joins a refund to the usage
of the charge it undoes through it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="")
        )
    op.create_index("ix_usage_logs_ledger_entry_id", "usage_logs", ["ledger_entry_id"], unique=True)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_usage_logs_ledger_entry_id", table_name="usage_logs")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
