"""The 七有 standard: four items a township enters with evidence and the county office confirms or returns, three
items read from the records of a year (never ticked), and the coverage of all halls at once.

有计划: an item of an approved plan of the year names the hall. 有活动: a meeting held at the hall in the year, or a
consultation at the hall whose meeting was held in the year. 有实效: a suggestion from a consultation held at the hall
in the year was adopted or partly adopted. Each is one set-based query for every hall."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation, Suggestion
from domain.halls.models import HallStandard
from domain.meetings.models import Meeting
from domain.people import audit
from domain.plans.models import ConsultationPlan, PlanItem
from engine.clock import LOCAL_TZ
from engine.errors import EngineError, NotFound

ENTERED = ("venue", "signage", "rules", "people")          # 有阵地 有标识 有制度 有人员
COMPUTED = ("plan", "activity", "results")                 # 有计划 有活动 有实效
ITEMS = ENTERED + COMPUTED
STATES = ("missing", "submitted", "confirmed", "returned")
ADOPTED = ("adopted", "partly")                           # 采纳, 部分采纳 (the answer form's vocabulary)
NOTE_MAX = 1000
REASON_MAX = 500


class Refused(EngineError):
    """A change the registry refuses; `code` names why (the pages say it in the reader's language)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class HallUnit:
    """A hall as the registry knows it: its org unit, the unit it serves and that unit's township."""

    code: str
    name: str
    served_code: str
    served_name: str
    township_code: str
    township_name: str


@dataclass(frozen=True)
class HallStatus:
    """A hall's seven items for a year: entered items by state, computed items as met or not."""

    hall: HallUnit
    entered: dict[str, str]
    computed: dict[str, bool]

    def met(self, item: str) -> bool:
        """Whether the item counts: confirmed (entered) or found in the records (computed)."""
        return self.computed[item] if item in COMPUTED else self.entered[item] == "confirmed"

    @property
    def missing(self) -> tuple[str, ...]:
        """The items not met, in the standard's order."""
        return tuple(item for item in ITEMS if not self.met(item))

    @property
    def meets_all(self) -> bool:
        """All seven met."""
        return not self.missing


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year's start and the next year's, Beijing time (meetings are stored in UTC)."""
    return (datetime.combine(date(year, 1, 1), time(), LOCAL_TZ),
            datetime.combine(date(year + 1, 1, 1), time(), LOCAL_TZ))


def consultation_held_in(year: int):
    """SQL condition on Consultation: its meeting (step 4) was held in `year` — it went past step 4 or completed,
    and the meeting's date falls in the year."""
    return and_(Consultation.meeting_date >= date(year, 1, 1), Consultation.meeting_date <= date(year, 12, 31),
                Consultation.status.in_(("in_progress", "completed")),
                or_(Consultation.step > 4, Consultation.status == "completed"))


def computed_items(session: Session, year: int) -> dict[str, set[str]]:
    """For each computed item, the codes of the halls that meet it in `year` (three queries for all halls)."""
    start, end = year_bounds(year)
    planned = select(PlanItem.hall_code).join(ConsultationPlan, ConsultationPlan.id == PlanItem.plan_id).where(
        ConsultationPlan.year == year, ConsultationPlan.status == "approved", PlanItem.hall_code.is_not(None))
    met = select(Meeting.hall_code).where(Meeting.status == "held", Meeting.hall_code.is_not(None),
                                          Meeting.starts_at >= start, Meeting.starts_at < end)
    held = select(Consultation.hall_code).where(Consultation.hall_code.is_not(None), consultation_held_in(year))
    adopted = select(Consultation.hall_code).join(Suggestion, Suggestion.consultation_id == Consultation.id).where(
        Consultation.hall_code.is_not(None), consultation_held_in(year), Suggestion.adoption.in_(ADOPTED))
    return {"plan": set(session.scalars(planned.distinct())),
            "activity": set(session.scalars(union(met, held))),
            "results": set(session.scalars(adopted.distinct()))}


@dataclass(frozen=True)
class ComputedBasis:
    """What a hall's computed items rest on for a year: the approved plan items naming it, how many meetings and
    consultations were held there, how many of their suggestions were adopted (fully or partly)."""

    plan_items: tuple[tuple[str, int], ...]        # (title, target month)
    meetings: int
    consultations: int
    adopted: int


def computed_basis(session: Session, hall_code: str, year: int) -> ComputedBasis:
    """The records behind one hall's computed items (for its page; the registry uses computed_items)."""
    start, end = year_bounds(year)
    items = session.execute(select(PlanItem.title, PlanItem.target_month)
                            .join(ConsultationPlan, ConsultationPlan.id == PlanItem.plan_id)
                            .where(ConsultationPlan.year == year, ConsultationPlan.status == "approved",
                                   PlanItem.hall_code == hall_code).order_by(PlanItem.target_month, PlanItem.id)
                            .limit(20))
    meetings = session.scalar(select(func.count()).where(Meeting.hall_code == hall_code, Meeting.status == "held",
                                                         Meeting.starts_at >= start, Meeting.starts_at < end))
    held = select(Consultation.id).where(Consultation.hall_code == hall_code, consultation_held_in(year))
    adopted = session.scalar(select(func.count()).where(Suggestion.consultation_id.in_(held),
                                                        Suggestion.adoption.in_(ADOPTED)))
    consultations = session.scalar(select(func.count()).select_from(held.subquery()))
    return ComputedBasis(tuple((title, month) for title, month in items), meetings or 0, consultations or 0,
                         adopted or 0)


def entered_states(session: Session, codes: set[str] | None = None) -> dict[str, dict[str, str]]:
    """hall code → item → state, for the entered items that have a row (others are missing)."""
    query = select(HallStandard.hall_code, HallStandard.item, HallStandard.state)
    if codes is not None:
        query = query.where(HallStandard.hall_code.in_(codes))
    found: dict[str, dict[str, str]] = {}
    for code, item, state in session.execute(query):
        found.setdefault(code, {})[item] = state
    return found


def statuses(session: Session, halls: list[HallUnit], year: int) -> list[HallStatus]:
    """The seven items of every hall in `halls` for `year` (four queries, whatever the number of halls)."""
    computed = computed_items(session, year)
    entered = entered_states(session, None if len(halls) > 200 else {h.code for h in halls})
    return [HallStatus(h, {item: entered.get(h.code, {}).get(item, "missing") for item in ENTERED},
                       {item: h.code in computed[item] for item in COMPUTED}) for h in halls]


@dataclass(frozen=True)
class TownshipCoverage:
    """One township's figures: its halls, how many meet all seven, and how many miss each item."""

    code: str
    name: str
    halls: int
    meets_all: int
    missing: dict[str, int]


def coverage(rows: list[HallStatus]) -> list[TownshipCoverage]:
    """Per township, in the order the halls came."""
    order: dict[str, list[HallStatus]] = {}
    for row in rows:
        order.setdefault(row.hall.township_code, []).append(row)
    return [TownshipCoverage(code, group[0].hall.township_name, len(group), sum(r.meets_all for r in group),
                             {item: sum(not r.met(item) for r in group) for item in ITEMS})
            for code, group in order.items()]


# --- the entered items: submit, confirm, return -------------------------------------------------------------------
@dataclass(frozen=True)
class EntryView:
    """An entered item as the hall's page shows it."""

    item: str
    state: str
    note: str | None
    reason: str | None
    submitted_by: str | None
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None


def entries(session: Session, hall_code: str) -> dict[str, EntryView]:
    """The hall's four entered items (missing ones included)."""
    rows = {r.item: r for r in session.scalars(select(HallStandard).where(HallStandard.hall_code == hall_code))}
    return {item: EntryView(item, rows[item].state, rows[item].note, rows[item].reason, rows[item].submitted_by,
                            rows[item].submitted_at, rows[item].decided_by, rows[item].decided_at)
            if item in rows else EntryView(item, "missing", None, None, None, None, None, None) for item in ENTERED}


def submit(session: Session, hall_code: str, item: str, note: str, actor: str, now: datetime,
           evidence: int) -> None:
    """The township submits (or resubmits) an item with a note; `evidence` is how many files it has now. A confirmed
    item is not resubmitted."""
    _entered(item)
    note = (note or "").strip()
    if not note and not evidence:
        raise Refused("empty")
    if len(note) > NOTE_MAX:
        raise Refused("note_long")
    row = session.scalar(select(HallStandard).where(HallStandard.hall_code == hall_code, HallStandard.item == item))
    if row is not None and row.state == "confirmed":
        raise Refused("confirmed")
    if row is None:
        row = HallStandard(hall_code=hall_code, item=item)
        session.add(row)
    row.state, row.note, row.reason = "submitted", note or None, None
    row.submitted_by, row.submitted_at, row.decided_by, row.decided_at = actor, now, None, None
    audit.record(session, actor, "hall_item_submitted", now, hall=hall_code, item=item, note=note[:200])


def decide(session: Session, hall_code: str, item: str, confirm: bool, reason: str, actor: str,
           now: datetime) -> None:
    """The county office confirms a submitted item, or returns it with a reason."""
    _entered(item)
    row = session.scalar(select(HallStandard).where(HallStandard.hall_code == hall_code, HallStandard.item == item))
    if row is None or row.state != "submitted":
        raise Refused("not_submitted")
    reason = (reason or "").strip()
    if not confirm and not reason:
        raise Refused("no_reason")
    if len(reason) > REASON_MAX:
        raise Refused("reason_long")
    row.state, row.reason = ("confirmed", None) if confirm else ("returned", reason)
    row.decided_by, row.decided_at = actor, now
    audit.record(session, actor, "hall_item_confirmed" if confirm else "hall_item_returned", now, hall=hall_code,
                 item=item, **({} if confirm else {"reason": reason[:200]}))


def _entered(item: str) -> None:
    if item not in ENTERED:
        raise NotFound("没有这一项 (no such item)")
