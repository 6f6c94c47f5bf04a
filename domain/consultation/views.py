"""The consultation's read side: its titles, notice subjects, title search and instance page section."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation, IntakeItem, Suggestion
from domain.consultation.public import PublicStep, progress_steps
from engine.store.models import OrgUnit, ProcessInstance


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion with its answer so far."""

    number: int
    text: str
    department: str
    department_name: str
    adoption: str | None
    reason: str | None
    measures: str | None
    promised_date: str | None
    answer_round: int
    satisfaction: str | None


@dataclass(frozen=True)
class ConsultationSection:
    """What the instance page shows of the consultation: its matter, topic, plan, suggestions and tracking code."""

    title: str | None
    topic: str | None
    tracking_code: str | None
    plan: dict | None
    report_title: str | None
    instruction: str | None
    published_at: datetime | None
    suggestions: tuple[SuggestionView, ...]
    steps: tuple[PublicStep, ...] = ()      # acceptance and the six steps with their state, as /track shows them

    @property
    def usernames(self) -> tuple[str, ...]:
        """The people the section names (the planned researchers)."""
        return tuple((self.plan or {}).get("researchers", []))

    def as_dict(self) -> dict:
        """The section's fields in the API's instance body (the plan stays on the page)."""
        return {"title": self.title, "topic": self.topic, "tracking_code": self.tracking_code,
                "report_title": self.report_title, "instruction": self.instruction,
                "published_at": self.published_at, "suggestions": [asdict(s) for s in self.suggestions]}


def titles(session: Session, instance_ids: list[int]) -> dict[int, str]:
    """Each consultation's topic once chosen, else the matter it came in as."""
    rows = session.execute(select(Consultation.instance_id, Consultation.topic, Consultation.title)
                           .where(Consultation.instance_id.in_(instance_ids)))
    return {instance_id: topic or title for instance_id, topic, title in rows if topic or title}


def subjects(session: Session, instance_ids: list[int]) -> dict[int, str]:
    """The matter as it came in: one subject for every notice over the consultation's life."""
    return dict(session.execute(select(Consultation.instance_id, Consultation.title)
                                .where(Consultation.instance_id.in_(instance_ids))).all())


def search(text: str):
    """The ids of consultations whose matter or topic contains `text`."""
    pattern = f"%{text}%"
    return select(Consultation.instance_id).where(or_(Consultation.title.ilike(pattern),
                                                      Consultation.topic.ilike(pattern)))


def details(session: Session, instance: ProcessInstance) -> ConsultationSection | None:
    """The consultation section of the instance page; None before (or without) a consultation record."""
    record = session.scalar(select(Consultation).where(Consultation.instance_id == instance.id))
    if record is None:
        return None
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
    suggestions = tuple(_suggestion(s, names) for s in session.scalars(
        select(Suggestion).where(Suggestion.consultation_id == record.id).order_by(Suggestion.number)))
    code = session.scalar(select(IntakeItem.tracking_code).where(IntakeItem.id == record.intake_id))
    return ConsultationSection(record.title, record.topic, code, record.plan, record.report_title, record.instruction,
                               record.published_at, suggestions, progress_steps(record.status, record.step))


def tracking_code_of(session: Session, instance_id: int) -> str | None:
    """The tracking code issued when the instance came in through the intake."""
    return session.scalar(select(IntakeItem.tracking_code).where(IntakeItem.instance_id == instance_id))


def _suggestion(row: Suggestion, names: dict) -> SuggestionView:
    department = names.get(row.department_code, row.department_code)
    return SuggestionView(row.number, row.text, row.department_code, department, row.adoption, row.reason, row.measures,
                          row.promised_date.isoformat() if row.promised_date else None, row.answer_round,
                          row.satisfaction)
