"""inbox: items, decisions, replies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 08:34:21.924043
"""

import sqlalchemy as sa
from alembic import op

import jalsa.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("thread_id", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.String(length=200), nullable=True),
        sa.Column("author_id", sa.String(length=200), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.String(length=500), nullable=True),
        sa.Column("created_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("collected_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("read_status", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("decided_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("platform_state", sa.String(length=16), nullable=False),
        sa.Column("platform_detail", sa.Text(), nullable=False),
        sa.Column("actioned_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pending_action", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("updated_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id"),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_items_assigned", ["assigned_to", "status"], unique=False)
        batch_op.create_index("ix_inbox_items_author", ["platform", "author_id"], unique=False)
        batch_op.create_index(
            "ix_inbox_items_category", ["event_id", "category", "status"], unique=False
        )
        batch_op.create_index(
            "ix_inbox_items_language", ["event_id", "language", "status"], unique=False
        )
        batch_op.create_index(
            "ix_inbox_items_platform", ["event_id", "platform", "status"], unique=False
        )
        batch_op.create_index(
            "ix_inbox_items_queue", ["event_id", "status", "collected_at"], unique=False
        )
        batch_op.create_index("ix_inbox_items_retry", ["retry_at"], unique=False)

    op.create_table(
        "inbox_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("policy_version", sa.String(length=64), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("result_status", sa.String(length=24), nullable=True),
        sa.Column("result_detail", sa.Text(), nullable=False),
        sa.Column("reverses", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["inbox_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reverses"], ["inbox_decisions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_decisions_at", ["at"], unique=False)
        batch_op.create_index("ix_inbox_decisions_item", ["item_id", "at"], unique=False)

    op.create_table(
        "inbox_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drafted_by", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("check_decision", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("platform_reply_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["approved_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["drafted_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["inbox_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbox_replies", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_replies_item", ["item_id"], unique=False)
        batch_op.create_index("ix_inbox_replies_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_replies", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_replies_status")
        batch_op.drop_index("ix_inbox_replies_item")

    op.drop_table("inbox_replies")
    with op.batch_alter_table("inbox_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_decisions_item")
        batch_op.drop_index("ix_inbox_decisions_at")

    op.drop_table("inbox_decisions")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_retry")
        batch_op.drop_index("ix_inbox_items_queue")
        batch_op.drop_index("ix_inbox_items_platform")
        batch_op.drop_index("ix_inbox_items_language")
        batch_op.drop_index("ix_inbox_items_category")
        batch_op.drop_index("ix_inbox_items_author")
        batch_op.drop_index("ix_inbox_items_assigned")

    op.drop_table("inbox_items")
