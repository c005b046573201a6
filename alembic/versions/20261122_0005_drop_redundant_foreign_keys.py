"""Drop two foreign keys that every charge paid for and nothing needed.

`audit_logs.actor_user_id` records who acted: history, which must not be
rewritten by ON DELETE SET NULL. `usage_logs.user_id` repeats the user of its
ledger entry, whose own foreign key already proves the user exists. Each check
was a locking lookup on `users` inside every charge (about a tenth of
PostgreSQL's CPU per charge in bench/ledger.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 09:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_logs_actor_user_id_users", type_="foreignkey")
    with op.batch_alter_table("usage_logs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_usage_logs_user_id_users", type_="foreignkey")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("usage_logs", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_usage_logs_user_id_users", "users", ["user_id"], ["id"], ondelete="RESTRICT"
        )
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_audit_logs_actor_user_id_users",
            "users",
            ["actor_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
