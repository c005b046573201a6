"""Share links: an image's owner may publish it at `/s/<token>`, and take it down.

`task_images.share_token` (NULL: private; unique) and `shared_at`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("task_images", sa.Column("share_token", sa.String(length=43), nullable=True))
    op.add_column("task_images", sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_task_images_share_token", "task_images", ["share_token"], unique=True)


def downgrade() -> None:
    """Revert this revision (every link goes dead)."""
    op.drop_index("ix_task_images_share_token", table_name="task_images")
    op.execute("ALTER TABLE task_images DROP COLUMN shared_at")
    op.execute("ALTER TABLE task_images DROP COLUMN share_token")
