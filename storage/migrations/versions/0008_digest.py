"""digest: the value digest's schedule and recipients; digest rows in the delivery ledger

Revision ID: 0008_digest
Revises: 0007_language
Create Date: 2026-12-16 09:00:00

The digest goes through the one delivery ledger (`deliveries`): a digest row belongs to no
project (`project_id` NULL) and names its recipient (`recipient`: `channel:slack`, `person:12`),
unique per (organisation, kind, slot, recipient); a check-in's row leaves `recipient` NULL,
which a unique index never compares.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_digest"
down_revision: str | None = "0007_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(length=10), nullable=False),
        sa.Column("day", sa.String(length=3), nullable=False),
        sa.Column("time", sa.String(length=5), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_digest_schedules_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_schedules")),
        sa.UniqueConstraint("org_id", name=op.f("uq_digest_schedules_org_id")),
    )  # fmt: skip
    op.create_table(
        "digest_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=300), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_digest_recipients_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_digest_recipients_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_recipients")),
        sa.UniqueConstraint("org_id", "key", name=op.f("uq_digest_recipients_org_id")),
    )  # fmt: skip
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=80), nullable=True))
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("sponsor_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            "uq_deliveries_recipient", ["org_id", "kind", "slot", "recipient"], unique=True
        )


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE project_id IS NULL OR sponsor_id IS NULL")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("uq_deliveries_recipient")
        batch_op.alter_column("sponsor_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("recipient")
    op.drop_table("digest_recipients")
    op.drop_table("digest_schedules")
