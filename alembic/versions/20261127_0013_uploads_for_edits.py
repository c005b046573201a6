"""Image editing: uploaded pictures, and the upload (and mask) an edit task starts from.

`uploads` holds each uploaded picture's owner, purpose (image or mask) and
file; `ai_images_creator_tasks.source_upload_id` / `mask_upload_id` point at
them (NULL: a task drawn from the prompt alone), each with a partial index
for the sweep of unused uploads and the foreign key's RESTRICT check.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TASKS = "ai_images_creator_tasks"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "uploads",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("purpose IN ('image', 'mask')", name="purpose_known"),
    )
    op.create_index("ix_uploads_user_created", "uploads", ["user_id", "created_at"])
    for column, index in (
        ("source_upload_id", "ix_tasks_source_upload"),
        ("mask_upload_id", "ix_tasks_mask_upload"),
    ):
        if op.get_bind().dialect.name == "postgresql":
            op.add_column(
                _TASKS,
                sa.Column(
                    column, _KEY, sa.ForeignKey("uploads.id", ondelete="RESTRICT"), nullable=True
                ),
            )
        else:  # SQLite adds a column with REFERENCES in place (Alembic would want a rebuild)
            op.execute(
                f"ALTER TABLE {_TASKS} ADD COLUMN {column} INTEGER"
                f" CONSTRAINT fk_{_TASKS}_{column}_uploads"
                " REFERENCES uploads (id) ON DELETE RESTRICT"
            )
        op.create_index(
            index,
            _TASKS,
            [column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )


def downgrade() -> None:
    """Revert this revision (edit tasks stay, as tasks drawn from their prompt)."""
    for column, index in (
        ("mask_upload_id", "ix_tasks_mask_upload"),
        ("source_upload_id", "ix_tasks_source_upload"),
    ):
        op.drop_index(index, table_name=_TASKS)
        # In place: a batch rebuild of the tasks table on SQLite would delete it
        # first, and its images with it (ON DELETE CASCADE).
        op.execute(f"ALTER TABLE {_TASKS} DROP COLUMN {column}")
    op.drop_index("ix_uploads_user_created", table_name="uploads")
    op.drop_table("uploads")
