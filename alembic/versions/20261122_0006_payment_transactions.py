"""Recharge orders: payment_transactions (XorPay / sandbox), from creation to credit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:25:19.420940
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "payment_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("pay_type", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("gateway_error", sa.String(length=64), nullable=False),
        sa.Column("aoid", sa.String(length=64), nullable=False),
        sa.Column("qr", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_price", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("bank_type", sa.String(length=64), nullable=False),
        sa.Column("buyer", sa.String(length=128), nullable=False),
        sa.Column("review_reason", sa.String(length=255), nullable=False),
        sa.Column("notification", sa.JSON(), nullable=True),
        sa.Column("ledger_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'expired')",
            name=op.f("ck_payment_transactions_status_known"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payment_transactions_amount_positive")),
        sa.CheckConstraint("credits > 0", name=op.f("ck_payment_transactions_credits_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_transactions_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_transactions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payment_transactions_order_id")),
    )
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_transactions_pending",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_payment_transactions_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_transactions_user_created")
        batch_op.drop_index(
            "ix_payment_transactions_pending",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.drop_table("payment_transactions")
