"""watch: measurements and incidents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:08:12.925169
"""

import sqlalchemy as sa
from alembic import op

import jalsa.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_incidents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("platforms", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("updated_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("watch_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_watch_incidents_time", ["started_at"], unique=False)

    op.create_table(
        "watch_measurements",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("round_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(length=253), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("vantage", sa.String(length=100), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("network", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("received_at", jalsa.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("watch_measurements", schema=None) as batch_op:
        batch_op.create_index("ix_watch_measurements_time", ["started_at"], unique=False)
        batch_op.create_index(
            "ix_watch_measurements_vantage", ["vantage", "round_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("watch_measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_watch_measurements_vantage")
        batch_op.drop_index("ix_watch_measurements_time")

    op.drop_table("watch_measurements")
    with op.batch_alter_table("watch_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_watch_incidents_time")

    op.drop_table("watch_incidents")
