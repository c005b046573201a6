"""Task webhooks: where a task's events go, each person's signing secret, the deliveries.

`ai_images_creator_tasks.webhook_url` / `webhook_events`, `users.webhook_secret`,
and `webhook_deliveries` (one row per message: its stable `webhook-id`, the
body, attempts and the next one) with a partial index over the pending ones.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TASKS = "ai_images_creator_tasks"
_PENDING = "status = 'pending'"


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(_TASKS, sa.Column("webhook_url", sa.Text(), nullable=True))
    op.add_column(
        _TASKS,
        sa.Column("webhook_events", sa.String(length=40), server_default="", nullable=False),
    )
    op.add_column("users", sa.Column("webhook_secret", sa.String(length=64), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column(
            "task_id", _KEY, sa.ForeignKey(f"{_TASKS}.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="delivery_status_known"
        ),
        sa.CheckConstraint("event IN ('start', 'progress', 'completed')", name="event_known"),
    )
    op.create_index("ix_webhook_deliveries_task", "webhook_deliveries", ["task_id", "id"])
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    """Revert this revision (the delivery log goes)."""
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_task", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    # In place: a batch rebuild on SQLite would delete these tables first, and
    # what hangs off them with them (ON DELETE CASCADE).
    op.execute("ALTER TABLE users DROP COLUMN webhook_secret")
    op.execute(f"ALTER TABLE {_TASKS} DROP COLUMN webhook_events")
    op.execute(f"ALTER TABLE {_TASKS} DROP COLUMN webhook_url")
