"""summary figures on agents: numeric capacity and use, incomplete enforcement

The Summary page sums 1,000 agents in SQL instead of decoding their JSON; existing agents
get their figures computed from the JSON they already hold.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 17:04:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shipyard.agents.models import capacity_units, is_unenforced, used_units

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FIGURES = ("cpu_capacity", "mem_capacity", "gpu_capacity", "cpu_used", "mem_used", "gpu_used")


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        for name in _FIGURES:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
        batch_op.add_column(
            sa.Column("unenforced", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_agents_unenforced_status", ["unenforced", "status"])
    _backfill()


def _backfill() -> None:
    agents = sa.table(
        "agents",
        sa.column("id", sa.String()),
        sa.column("capacity", sa.JSON()),
        sa.column("utilization", sa.JSON()),
        sa.column("enforcement", sa.JSON()),
        *(sa.column(name, sa.BigInteger()) for name in _FIGURES),
        sa.column("unenforced", sa.Boolean()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(agents.c.id, agents.c.capacity, agents.c.utilization, agents.c.enforcement)
    ).all()
    for row in rows:
        capacity = capacity_units(row.capacity)
        used = used_units(row.utilization, capacity[0])
        connection.execute(
            agents.update()
            .where(agents.c.id == row.id)
            .values(
                dict(zip(_FIGURES, capacity + used, strict=True)),
                unenforced=is_unenforced(row.enforcement),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index("ix_agents_unenforced_status")
        batch_op.drop_column("unenforced")
        for name in reversed(_FIGURES):
            batch_op.drop_column(name)
