"""What a charge paid for moves into its ledger entry; `usage_logs` is dropped.

Every usage row repeated its charge entry (user, credits = -amount,
description, time) and added four facts: task, model, size, image count.
Those four become columns of `ledger_entries`, so a charge writes one row and
its indexes instead of two rows, a foreign-key check and three more index
entries (bench/ledger.py: about a fifth less server CPU per charge). The
usage report reads the entries themselves.

Upgrade copies each usage row's facts into its entry. The immutability
triggers are lifted for that one statement and put back at once, within the
migration's transaction. Downgrade rebuilds `usage_logs` from the charges
(every charge gets a usage row, also those that had none) and drops the
columns in place.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The triggers of revision 0002, as they are.
_PG_IMMUTABLE = """
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries are immutable (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable();
"""
_SQLITE_IMMUTABLE = (
    "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries"
    " BEGIN SELECT RAISE(ABORT, 'ledger_entries are immutable (UPDATE refused)'); END",
    "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries"
    " BEGIN SELECT RAISE(ABORT, 'ledger_entries are immutable (DELETE refused)'); END",
)


# Each entry with a usage row takes that row's four facts.
_COPY_USAGE = """
UPDATE ledger_entries SET
    task_id = (SELECT u.task_id FROM usage_logs u WHERE u.ledger_entry_id = ledger_entries.id),
    model = (SELECT u.model FROM usage_logs u WHERE u.ledger_entry_id = ledger_entries.id),
    size = (SELECT u.size FROM usage_logs u WHERE u.ledger_entry_id = ledger_entries.id),
    image_count = (SELECT u.image_count FROM usage_logs u
                   WHERE u.ledger_entry_id = ledger_entries.id)
WHERE id IN (SELECT ledger_entry_id FROM usage_logs)
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _drop_immutability_triggers() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")


def _create_immutability_triggers() -> None:
    if _postgresql():
        op.execute(_PG_IMMUTABLE)
    else:
        for statement in _SQLITE_IMMUTABLE:
            op.execute(statement)


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("ledger_entries", sa.Column("task_id", sa.Integer(), nullable=True))
    op.add_column(
        "ledger_entries",
        sa.Column("model", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column(
        "ledger_entries",
        sa.Column("size", sa.String(length=16), server_default="", nullable=False),
    )
    op.add_column(
        "ledger_entries",
        sa.Column("image_count", sa.Integer(), server_default="0", nullable=False),
    )
    _drop_immutability_triggers()
    op.execute(_COPY_USAGE)
    _create_immutability_triggers()
    op.drop_index("ix_usage_logs_ledger_entry_id", table_name="usage_logs")
    op.drop_index("ix_usage_logs_user_created", table_name="usage_logs")
    op.drop_table("usage_logs")


def downgrade() -> None:
    """Revert this revision."""
    op.create_table(
        "usage_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "ledger_entry_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("credits > 0", name=op.f("ck_usage_logs_credits_positive")),
        sa.CheckConstraint("image_count >= 0", name=op.f("ck_usage_logs_image_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_usage_logs_ledger_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_logs")),
    )
    op.create_index("ix_usage_logs_user_created", "usage_logs", ["user_id", "created_at"])
    op.create_index("ix_usage_logs_ledger_entry_id", "usage_logs", ["ledger_entry_id"], unique=True)
    op.execute(
        "INSERT INTO usage_logs (user_id, ledger_entry_id, task_id, model, size, image_count,"
        " credits, description, created_at)"
        " SELECT user_id, id, task_id, model, size, image_count, -amount, description, created_at"
        " FROM ledger_entries WHERE kind = 'charge'"
    )
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+ too): a batch rebuild
    # would drop and re-create the table, which the rows referring to it refuse.
    for column in ("image_count", "size", "model", "task_id"):
        op.execute(f"ALTER TABLE ledger_entries DROP COLUMN {column}")
