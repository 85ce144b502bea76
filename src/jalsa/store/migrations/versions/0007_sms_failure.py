"""sms: why a campaign failed; replies by time (the answer cap)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index("ix_sms_messages_kind_created", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_messages_kind_created")
    with op.batch_alter_table("sms_campaigns", schema=None) as batch_op:
        batch_op.drop_column("failure")
