"""The history: a task can be starred and deleted by its owner.

`favourite` (false for every existing task) with a partial index over the
starred ones per person; `deleted_at` (NULL: shown) hides a task everywhere
once its owner deletes it; its images and files go, the row stays because the
ledger's entries name it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TASKS = "ai_images_creator_tasks"


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        _TASKS, sa.Column("favourite", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(_TASKS, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tasks_user_favourite",
        _TASKS,
        ["user_id", "id"],
        postgresql_where=sa.text("favourite"),
        sqlite_where=sa.text("favourite"),
    )


def downgrade() -> None:
    """Revert this revision (deleted tasks come back, without their images)."""
    op.drop_index("ix_tasks_user_favourite", table_name=_TASKS)
    # In place: a batch rebuild on SQLite would delete the tasks table first, and
    # its images with it (ON DELETE CASCADE).
    op.execute(f"ALTER TABLE {_TASKS} DROP COLUMN deleted_at")
    op.execute(f"ALTER TABLE {_TASKS} DROP COLUMN favourite")
