"""A CPPCC member's 履职 record for a year: the research they did, the meetings they attended, the topics they
proposed and the suggestions of the meetings they were at. From the human_task projection, the task submissions,
the meetings' sign-ins and the consultation records; no workflow is loaded.

Meetings attended: every meeting (a consultation's 协商议事会 or another hall activity) the member signed in to,
in the period it started in; and, for a consultation whose meeting record has no sign-in at all (older cases, or a
meeting not held through the sign-in page), the step-4 form's attendees, as before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.consultation.figures import MEETING_TASK, RESEARCH_TASK, Period
from domain.consultation.models import Consultation, IntakeItem, Suggestion
from domain.meetings.models import Meeting, MeetingAttendance
from engine.store.models import HumanTask, ProcessInstance
from engine.store.submissions import TaskSubmission


@dataclass(frozen=True)
class Entry:
    """One line of the record: what kind, on which consultation, when, and its state or result."""

    kind: str                  # research | meeting | proposal | suggestion
    instance_id: int
    title: str
    at: datetime | None
    detail: str
    meeting_id: int | None = None     # the meeting record's, when the line comes from a sign-in


@dataclass(frozen=True)
class MemberRecord:
    """The member's year."""

    username: str
    period: Period
    research: tuple[Entry, ...]
    meetings: tuple[Entry, ...]
    proposals: tuple[Entry, ...]
    suggestions: tuple[Entry, ...]

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every line, in the order the page and the export show them."""
        return self.research + self.meetings + self.proposals + self.suggestions


def _titles(session: Session, instance_ids) -> dict[int, str]:
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    rows = session.execute(select(Consultation.instance_id, Consultation.topic, Consultation.title)
                           .where(Consultation.instance_id.in_(ids)))
    return {instance_id: topic or title for instance_id, topic, title in rows}


def member_record(session: Session, username: str, period: Period) -> MemberRecord:
    """The member's research tasks (done, or open and theirs), meetings attended, topics proposed and the
    suggestions of their meetings, in `period`."""
    research = session.execute(
        select(HumanTask.instance_id, HumanTask.status, HumanTask.created_at, HumanTask.completed_at, HumanTask.due_at)
        .where(HumanTask.task_spec == RESEARCH_TASK,
               or_(HumanTask.completed_by == username,
                   (HumanTask.status == "ready") & (HumanTask.assignee == username)),
               HumanTask.created_at < period.end,
               or_(HumanTask.completed_at.is_(None), HumanTask.completed_at >= period.start))
        .order_by(HumanTask.created_at)).all()
    attended: dict[int, datetime] = {}
    for instance_id, data, submitted_at in session.execute(
            select(TaskSubmission.instance_id, TaskSubmission.data, TaskSubmission.submitted_at)
            .where(TaskSubmission.task_spec == MEETING_TASK, TaskSubmission.submitted_at >= period.start,
                   TaskSubmission.submitted_at < period.end).order_by(TaskSubmission.id)):
        attendees = (data or {}).get("attendees")
        if isinstance(attendees, list) and username in attendees:
            attended[instance_id] = submitted_at
        else:
            attended.pop(instance_id, None)    # a later record of the same meeting no longer names them
    signed, recorded = _signed_in(session, username, period, list(attended))
    for instance_id in recorded:
        attended.pop(instance_id, None)      # the meeting's sign-ins say who was there
    attended.update({row.instance_id: row.starts_at for row in signed if row.instance_id is not None})
    proposals = session.execute(
        select(IntakeItem.instance_id, IntakeItem.title, IntakeItem.created_at, Consultation.status)
        .join(ProcessInstance, ProcessInstance.id == IntakeItem.instance_id)
        .outerjoin(Consultation, Consultation.intake_id == IntakeItem.id)
        .where(IntakeItem.source == "member", ProcessInstance.started_by == username,
               IntakeItem.created_at >= period.start, IntakeItem.created_at < period.end)
        .order_by(IntakeItem.created_at)).all()
    suggestions = session.execute(
        select(Consultation.instance_id, Suggestion.number, Suggestion.text, Suggestion.adoption)
        .join(Suggestion, Suggestion.consultation_id == Consultation.id)
        .where(Consultation.instance_id.in_(sorted(attended)))
        .order_by(Consultation.instance_id, Suggestion.number)).all() if attended else []
    titles = _titles(session, [r[0] for r in research] + list(attended) + [s[0] for s in suggestions])
    return MemberRecord(
        username=username, period=period,
        research=tuple(Entry("research", i, titles.get(i, f"#{i}"), done or created,
                             "completed" if status == "completed" else "open")
                       for i, status, created, done, _due in research),
        meetings=tuple(sorted(
            [Entry("meeting", i, titles.get(i, f"#{i}"), at, "attended") for i, at in attended.items()
             if i not in {row.instance_id for row in signed}]
            + [Entry("meeting", row.instance_id or 0, row.title, row.starts_at, "attended", row.id) for row in signed],
            key=lambda entry: _aware(entry.at))),
        proposals=tuple(Entry("proposal", i or 0, title, at, status or "intake")
                        for i, title, at, status in proposals),
        suggestions=tuple(Entry("suggestion", i, f"{titles.get(i, f'#{i}')} · {number}. {text}", attended.get(i),
                                adoption or "unanswered")
                          for i, number, text, adoption in suggestions))


def _aware(moment: datetime | None) -> datetime:
    return datetime.min.replace(tzinfo=UTC) if moment is None else (
        moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _signed_in(session: Session, username: str, period: Period, instance_ids: list[int]):
    """The meetings `username` signed in to that started in `period` (id, title, starts_at, the consultation's
    instance or None), and which of `instance_ids` have a consultation meeting with any sign-in."""
    signed = session.execute(
        select(Meeting.id, Meeting.title, Meeting.starts_at, Consultation.instance_id)
        .join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id)
        .outerjoin(Consultation, (Consultation.id == Meeting.consultation_id) & (Meeting.kind == "consultation"))
        .where(MeetingAttendance.username == username, Meeting.status != "cancelled",
               Meeting.starts_at >= period.start, Meeting.starts_at < period.end)
        .order_by(Meeting.starts_at)).all()
    recorded = set(session.scalars(
        select(Consultation.instance_id).join(Meeting, Meeting.consultation_id == Consultation.id)
        .join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id)
        .where(Consultation.instance_id.in_(instance_ids), Meeting.kind == "consultation",
               Meeting.status != "cancelled"))) if instance_ids else set()
    return signed, recorded
