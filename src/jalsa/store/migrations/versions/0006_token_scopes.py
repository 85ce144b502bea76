"""team: API token scopes (api, or agent for one vantage)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=16), server_default="api", nullable=False)
        )
        batch.add_column(sa.Column("vantage", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("vantage")
        batch.drop_column("scope")
