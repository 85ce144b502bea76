"""mobilize: supporters, consent, opt-outs, campaigns, outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:14:59.060773
"""

import sqlalchemy as sa
from alembic import op

import jalsa.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_inbound",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("gateway_id", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("to", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("keyword", sa.String(length=8), nullable=False),
        sa.Column("received_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gateway", "gateway_id"),
    )
    with op.batch_alter_table("sms_inbound", schema=None) as batch_op:
        batch_op.create_index("ix_sms_inbound_phone", ["phone"], unique=False)

    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    op.create_table(
        "sms_sender_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "supporters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("constituency", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("created_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone"),
    )
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.create_index("ix_supporters_city", ["city"], unique=False)
        batch_op.create_index("ix_supporters_constituency", ["constituency"], unique=False)

    op.create_table(
        "sms_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("send_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("spread_minutes", sa.Integer(), nullable=False),
        sa.Column("send_from", sa.String(length=5), nullable=False),
        sa.Column("send_until", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "supporter_consents",
        sa.Column(
            "supporter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("given_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["supporter_id"], ["supporters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("supporter_id", "purpose"),
    )
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column(
            "supporter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "inbound_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("not_before", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=True),
        sa.Column("sender", sa.String(length=32), nullable=True),
        sa.Column("gateway_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["sms_campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["inbound_id"], ["sms_inbound.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["supporter_id"], ["supporters.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "supporter_id"),
        sa.UniqueConstraint("inbound_id"),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index("ix_sms_messages_campaign", ["campaign_id", "status"], unique=False)
        batch_op.create_index("ix_sms_messages_due", ["status", "not_before"], unique=False)
        batch_op.create_index("ix_sms_messages_gateway_id", ["gateway", "gateway_id"], unique=False)
        batch_op.create_index("ix_sms_messages_phone", ["phone", "status"], unique=False)
        batch_op.create_index("ix_sms_messages_sender", ["sender", "submitted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_sender")
        batch_op.drop_index("ix_sms_messages_phone")
        batch_op.drop_index("ix_sms_messages_gateway_id")
        batch_op.drop_index("ix_sms_messages_due")
        batch_op.drop_index("ix_sms_messages_campaign")

    op.drop_table("sms_messages")
    op.drop_table("supporter_consents")
    op.drop_table("sms_campaigns")
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.drop_index("ix_supporters_constituency")
        batch_op.drop_index("ix_supporters_city")

    op.drop_table("supporters")
    op.drop_table("sms_sender_lease")
    op.drop_table("sms_opt_outs")
    with op.batch_alter_table("sms_inbound", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_inbound_phone")

    op.drop_table("sms_inbound")
