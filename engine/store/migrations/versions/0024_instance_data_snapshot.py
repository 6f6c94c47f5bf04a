"""the data an instance carries after its last save, kept beside its state

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 06:30:00

Showing an instance (its page, GET /api/v1/instances/{id}) read the whole workflow state and restored it to take its
data; the save now also writes the data alone (packed like the state), so a show restores nothing. Existing rows keep
NULL and are shown from their state until their next save.
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("data_snapshot", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("data_snapshot")
