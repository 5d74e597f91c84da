"""loop: pain points with an owner, a fix, a confirmation and a history; follow-ups that say what was done

Revision ID: 0006_loop
Revises: 0005_inbox
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_loop"
down_revision: str | None = "0005_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("painpoints", schema=None) as batch_op:
        batch_op.alter_column(  # "in_progress" is eleven characters
            "status", existing_type=sa.String(length=10), type_=sa.String(length=12), existing_nullable=False
        )
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("due", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("due_reminded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("fix", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("confirmed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("message_refs", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_painpoints_owner_id_people"), "people", ["owner_id"], ["id"]
        )
        batch_op.create_index("ix_painpoints_owner", ["owner_id", "status"], unique=False)
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_did", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("follow_up_did_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_checkins_org_loop",
            ["org_id", "kind", "answered_at", "rating", "project_id", "sponsor_id", "sent_at",
             "followed_up_by", "followed_up_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_checkins_project_loop",
            ["project_id", "kind", "answered_at", "rating", "sponsor_id", "sent_at",
             "followed_up_by", "followed_up_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_checkins_project_next",
            ["project_id", "sponsor_id", "kind", "sent_at", "answered_at", "rating"],
            unique=False,
        )
    op.create_table(
        "painpoint_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("painpoint_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_painpoint_events_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["painpoint_id"],
            ["painpoints.id"],
            name=op.f("fk_painpoint_events_painpoint_id_painpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_painpoint_events_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_painpoint_events")),
    )
    with op.batch_alter_table("painpoint_events", schema=None) as batch_op:
        batch_op.create_index("ix_painpoint_events_painpoint", ["painpoint_id", "id"], unique=False)
        batch_op.create_index("ix_painpoint_events_org_kind_at", ["org_id", "kind", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("painpoint_events", schema=None) as batch_op:
        batch_op.drop_index("ix_painpoint_events_org_kind_at")
        batch_op.drop_index("ix_painpoint_events_painpoint")
    op.drop_table("painpoint_events")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_project_next")
        batch_op.drop_index("ix_checkins_project_loop")
        batch_op.drop_index("ix_checkins_org_loop")
        batch_op.drop_column("follow_up_did_at")
        batch_op.drop_column("follow_up_did")
    with op.batch_alter_table("painpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_painpoints_owner")
        batch_op.drop_constraint(batch_op.f("fk_painpoints_owner_id_people"), type_="foreignkey")
        batch_op.drop_column("message_refs")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed")
        batch_op.drop_column("fix")
        batch_op.drop_column("due_reminded_at")
        batch_op.drop_column("due")
        batch_op.drop_column("owner_id")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=12), type_=sa.String(length=10), existing_nullable=False
        )
