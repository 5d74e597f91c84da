"""clock: the delivery ledger's schedule slot, and indexes for the clock's scans

Revision ID: 0004_clock
Revises: 0003_conversations
Create Date: 2026-11-22 09:00:00

`deliveries.slot` is the sponsor's local date of a scheduled send (or "reminder:<checkin id>"),
unique per (kind, project): a sponsor who changes time zone is not asked twice for one day.
Sends outside the schedule leave it NULL, which a unique index never compares.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_clock"
down_revision: str | None = "0003_conversations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.String(length=40), nullable=True))
        batch_op.create_index("uq_deliveries_slot", ["kind", "project_id", "slot"], unique=True)
        batch_op.create_index("ix_deliveries_occurrence", ["occurrence"], unique=False)
        batch_op.create_index("ix_deliveries_status_lease", ["status", "lease_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_lease")
        batch_op.drop_index("ix_deliveries_occurrence")
        batch_op.drop_index("uq_deliveries_slot")
        batch_op.drop_column("slot")
