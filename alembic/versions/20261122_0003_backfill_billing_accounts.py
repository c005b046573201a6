"""Backfill: a billing account (balance 0) for every user that has none.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 01:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Open the missing accounts; users who signed up before the ledger existed."""
    op.execute(
        "INSERT INTO billing_accounts (user_id, balance, created_at, updated_at)"
        " SELECT u.id, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users u"
        " WHERE NOT EXISTS (SELECT 1 FROM billing_accounts a WHERE a.user_id = u.id)"
    )


def downgrade() -> None:
    """Nothing to undo: 0002's downgrade drops the table with its rows."""
