"""privacy: when the retention job last ran (job_runs)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    job_runs = op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("name"),
    )
    # The row exists from the start, so every process can lock it (SELECT ... FOR UPDATE).
    op.bulk_insert(job_runs, [{"name": "retention", "last_run_at": None, "result": {}}])


def downgrade() -> None:
    op.drop_table("job_runs")
