"""cases a timer left ready are swept again

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 18:50:00

Before this revision a timer that came due while the command that reached it still ran (the clock moved on during
the run) was left ready and not fired: the case was stored `waiting` with no `next_timer_at`, so no sweep looked at
it again and it waited for nothing. The engine now fires such a timer in the command. Cases stored that way before
are given their last change as their next timer: the next sweep restores each and runs what is ready (recorded as
`instance_resumed`). A case that only waits for a message is restored once, finds nothing to run and keeps waiting.
"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


RESUME = ("UPDATE process_instance SET next_timer_at = updated_at "
          "WHERE status = 'waiting' AND next_timer_at IS NULL")


def upgrade() -> None:
    op.execute(RESUME)


def downgrade() -> None:
    pass    # the cases swept since have moved on; nothing to undo
