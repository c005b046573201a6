"""Invitations: every user's invite code, and `invite_relations` (who invited whom).

Existing users get a code here; new users get one at sign-up. Also the index
the sign-up limit per address counts with.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:30:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same alphabet as services.invites: no 0/O, 1/I/L.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_code", sa.String(length=8), nullable=True))
        batch_op.create_unique_constraint("uq_users_invite_code", ["invite_code"])
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("invite_code", sa.String))
    conn = op.get_bind()
    taken: set[str] = set()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        code = ""
        while not code or code in taken:
            code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        taken.add(code)
        conn.execute(users.update().where(users.c.id == user_id).values(invite_code=code))
    op.create_table(
        "invite_relations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("invitee_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=64), nullable=False),
        sa.Column("flag", sa.String(length=64), nullable=False),
        sa.Column("invitee_ip", sa.String(length=45), nullable=False),
        sa.Column("reward_credits", sa.BigInteger(), nullable=False),
        sa.Column("reward_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("rewarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("welcome_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'rewarded', 'held', 'rejected')",
            name="ck_invite_relations_status_known",
        ),
        sa.CheckConstraint("inviter_id <> invitee_id", name="ck_invite_relations_not_self"),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["users.id"],
            name="fk_invite_relations_invitee_id_users",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["users.id"],
            name="fk_invite_relations_inviter_id_users",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invite_relations"),
        sa.UniqueConstraint("invitee_id", name="uq_invite_relations_invitee_id"),
    )
    op.create_index(
        "ix_invite_relations_inviter_id", "invite_relations", ["inviter_id"], unique=False
    )
    register = sa.text("action = 'register'")
    op.create_index(
        "ix_audit_logs_register_ip",
        "audit_logs",
        ["ip", "created_at"],
        unique=False,
        postgresql_where=register,
        sqlite_where=register,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_logs_register_ip", table_name="audit_logs")
    op.drop_index("ix_invite_relations_inviter_id", table_name="invite_relations")
    op.drop_table("invite_relations")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_invite_code", type_="unique")
        batch_op.drop_column("invite_code")
