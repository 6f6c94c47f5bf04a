"""suggestion ledger

Revision ID: 0011b
Revises: 0010
Create Date: 2026-12-01 17:00:00

What the suggestion ledger (建议办理台账) filters and shows that the records did not keep: the day the consultation
meeting was held (its period), the departments a re-routed suggestion passed through before its current one, and
the latest follow-up visit's finding. Records of earlier instances are filled in here from their submitted forms
(the meeting form's date, else the plan's; each "not ours" answer's department, matched to its suggestion by the
task's label; the latest visit of each suggestion), and kept up to date at every save after.
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

_consultation = sa.table('consultation', sa.column('id', sa.Integer), sa.column('instance_id', sa.Integer),
                         sa.column('plan', sa.JSON), sa.column('meeting_date', sa.Date))
_suggestion = sa.table('suggestion', sa.column('id', sa.Integer), sa.column('consultation_id', sa.Integer),
                       sa.column('number', sa.Integer), sa.column('text', sa.Text),
                       sa.column('departments_before', sa.JSON), sa.column('follow_up', sa.Text))
_submission = sa.table('task_submission', sa.column('id', sa.Integer), sa.column('instance_id', sa.Integer),
                       sa.column('task_id', sa.String), sa.column('task_spec', sa.String),
                       sa.column('item_label', sa.String), sa.column('data', sa.JSON))
_task = sa.table('human_task', sa.column('id', sa.String), sa.column('org_unit_code', sa.String))
MAX_LABEL = 120     # as the task projection labels a multi-instance item


def _date(value):
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _label(text: str) -> str:
    words = " ".join((text or "").split())
    return words[:MAX_LABEL - 1] + "…" if len(words) > MAX_LABEL else words


def _backfill(bind) -> None:
    cases = {row.instance_id: row for row in bind.execute(sa.select(_consultation))}
    forms = bind.execute(sa.select(_submission.c.instance_id, _submission.c.task_spec, _submission.c.item_label,
                                   _submission.c.data, _task.c.org_unit_code)
                         .select_from(_submission.outerjoin(_task, _task.c.id == _submission.c.task_id))
                         .where(_submission.c.task_spec.in_(('hold_meeting', 'answer_suggestion', 'follow_up_visit')))
                         .order_by(_submission.c.id)).all()
    held, refused, visited = {}, {}, {}
    for instance_id, spec, label, data, department in forms:
        data = data or {}
        if spec == 'hold_meeting' and _date(data.get('meeting_held_on')):
            held[instance_id] = _date(data['meeting_held_on'])
        elif spec == 'answer_suggestion' and data.get('adoption') == 'not_ours' and department and label:
            refused.setdefault((instance_id, label), []).append(department)
        elif spec == 'follow_up_visit':
            for visit in data.get('visits') or []:
                if isinstance(visit, dict) and visit.get('implementation_status'):
                    visited[(instance_id, visit.get('suggestion_id'))] = str(visit['implementation_status'])[:5000]
    instance_of = {}
    for instance_id, case in cases.items():
        instance_of[case.id] = instance_id
        meeting = held.get(instance_id) or _date((case.plan or {}).get('meeting_date'))
        if meeting:
            bind.execute(_consultation.update().where(_consultation.c.id == case.id).values(meeting_date=meeting))
    for row in bind.execute(sa.select(_suggestion)).all():
        instance_id = instance_of.get(row.consultation_id)
        bind.execute(_suggestion.update().where(_suggestion.c.id == row.id).values(
            departments_before=refused.get((instance_id, _label(row.text)), []),
            follow_up=visited.get((instance_id, row.number))))

revision = '0011b'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_date', sa.Date(), nullable=True))
        batch_op.create_index('ix_consultation_meeting_date', ['meeting_date'])
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('departments_before', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('follow_up', sa.Text(), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.drop_column('follow_up')
        batch_op.drop_column('departments_before')
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_index('ix_consultation_meeting_date')
        batch_op.drop_column('meeting_date')
