"""language: the language a person chose (`language`), and the locale each platform reports for them

Revision ID: 0007_language
Revises: 0006_loop
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_language"
down_revision: str | None = "0006_loop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("locale")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("language")
