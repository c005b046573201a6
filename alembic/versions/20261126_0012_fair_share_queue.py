"""Fair share in the queue: each task's turn, each processor's slots.

`ai_images_creator_tasks.queue_turn` orders the pending queue (with the id);
the pending-only index moves from (id) to (queue_turn, id). A new partial
index over each user's pending tasks serves their next turn and the cap on
waiting tasks (pending only: a claim adds no entry to it). Tasks already waiting keep their order: their turn is
0, so they come first, oldest first, as before. `worker_heartbeats.slots` is
how many tasks each processor runs at once, which ETAs add up.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = "status = 'pending'"


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "ai_images_creator_tasks",
        sa.Column("queue_turn", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.drop_index("ix_tasks_pending", table_name="ai_images_creator_tasks")
    op.create_index(
        "ix_tasks_pending",
        "ai_images_creator_tasks",
        ["queue_turn", "id"],
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )
    op.create_index(
        "ix_tasks_user_pending",
        "ai_images_creator_tasks",
        ["user_id", "queue_turn"],
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )
    op.add_column(
        "worker_heartbeats",
        sa.Column("slots", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    """Revert this revision."""
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+ too): a batch rebuild of the
    # tasks table would delete it first, and its images with it (ON DELETE CASCADE).
    op.execute("ALTER TABLE worker_heartbeats DROP COLUMN slots")
    op.drop_index("ix_tasks_user_pending", table_name="ai_images_creator_tasks")
    op.drop_index("ix_tasks_pending", table_name="ai_images_creator_tasks")
    op.create_index(
        "ix_tasks_pending",
        "ai_images_creator_tasks",
        ["id"],
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )
    op.execute("ALTER TABLE ai_images_creator_tasks DROP COLUMN queue_turn")
