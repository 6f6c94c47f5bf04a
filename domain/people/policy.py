"""Who may do what, where: the one place that answers "may this person do this here?" for the web pages, the API,
the command line and the notifications alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from domain.people.roles import RULES
from engine.policy import RoleHolders
from engine.store import directory
from engine.store.directory import DirectoryRules
from engine.store.models import HumanTask, ProcessInstance

if TYPE_CHECKING:       # accounts asks this module whether an actor may administer
    from domain.people.accounts import UserView

COUNTY = "county"
COUNTY_WIDE = {"admin", "office", "supervisor", "platform_lead", "process_owner"}
# Who a notification addressed to one of these audiences reaches: (role, org unit) pairs; None is the instance's unit.
AUDIENCES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "supervisor": (("supervisor", None),),
    "county_leadership": (("platform_lead", COUNTY), ("supervisor", COUNTY)),
}
# Whom a step's reminder and its two escalation levels address (the engine's fallback for diagrams without deadline
# events): the holder, the unit's supervisors, the county's leadership.
ESCALATION_LADDER = ("assignee", "supervisor", "county_leadership")


# --- seeing instances -------------------------------------------------------------------------------------------
def sees_everything(user: UserView) -> bool:
    """Admins and the county CPPCC's office, supervisors, leadership and process owners see every instance."""
    return user.is_admin or any(role in COUNTY_WIDE and org == COUNTY for role, org in user.memberships)


def visible_instances(user: UserView):
    """SQL condition on ProcessInstance: the instances `user` may see."""
    if sees_everything(user):
        return ProcessInstance.id.isnot(None)
    orgs = sorted({org for _, org in user.memberships})
    involved = exists().where(HumanTask.instance_id == ProcessInstance.id).where(or_(
        HumanTask.assignee == user.username, HumanTask.completed_by == user.username,
        HumanTask.org_unit_code.in_(orgs)))
    return or_(ProcessInstance.started_by == user.username, ProcessInstance.org_unit_code.in_(orgs), involved)


def can_view_instance(session: Session, user: UserView, instance_id: int) -> bool:
    """Whether `user` may see the instance: county-wide roles, its org unit, its starter, or people on its tasks."""
    return session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id,
                                                           visible_instances(user))) is not None


def may_download(user: UserView, owner: str, sees_instance: bool, attached: bool) -> bool:
    """Whether `user` may download a stored file: its owner always; anyone who may see its instance once a submitted
    form names it."""
    return user.username == owner or (attached and sees_instance)


# --- the suggestion ledger (建议办理台账) ------------------------------------------------------------------------
SUPERVISING = frozenset({"supervisor", "platform_lead", "organizer", "office"})


@dataclass(frozen=True)
class SuggestionReach:
    """Which suggestions a person sees on the ledger: all of them; those of consultations held by `units` (and the
    units below them); those answered by `departments`; and/or those of the cases they may see."""

    everything: bool
    units: frozenset[str]
    departments: frozenset[str]
    visible_cases: bool


def suggestion_reach(user: UserView) -> SuggestionReach:
    """County-wide roles (the office, the county's supervisors) see every suggestion; a unit's supervisors, leads and
    organizers those of its consultations (a township's include its villages'); a department's liaisons those their
    department answers now (not the other departments' of the same meeting); members those of the cases they may see,
    as the case page shows them (the answers are published with the results anyway)."""
    if sees_everything(user):
        return SuggestionReach(True, frozenset(), frozenset(), False)
    return SuggestionReach(False, frozenset(org for role, org in user.memberships if role in SUPERVISING),
                           frozenset(org for role, org in user.memberships if role == "department"),
                           "member" in user.roles)


def may_urge_suggestion(user: UserView, org_unit: str | None) -> bool:
    """Who is offered "去催办" on a ledger row with an open task: supervisors and leads of the consultation's unit,
    the county's supervisors and the county office (the urge itself is the task page's)."""
    return any((role, org_unit) in set(user.memberships) for role in ("supervisor", "platform_lead")) or \
        user.has_role("supervisor", COUNTY) or user.has_role("office", COUNTY)


# --- restricted form fields (`"ui:audience": [roles]` in a UI schema) on a case file and in the API ---------------
AUDIENCE = "ui:audience"


def audiences(ui: dict | None) -> dict[str, tuple[str, ...]]:
    """The top-level fields of a form that name an audience, with the roles that may see them."""
    return {name: tuple(options[AUDIENCE]) for name, options in (ui or {}).items()
            if isinstance(options, dict) and isinstance(options.get(AUDIENCE), list | tuple)}


def may_see_field(user: UserView, audience: Iterable[str], org_unit: str | None) -> bool:
    """Whether `user` may see a field restricted to `audience` on an instance of `org_unit`: they hold one of its
    roles in the instance's org unit (its platform's organizer), or a county-wide one at the county (the office,
    the county's supervisors)."""
    held = set(user.memberships)
    return any((role, org_unit) in held or (role in COUNTY_WIDE and (role, COUNTY) in held) for role in audience)


def hidden_fields(user: UserView, restricted: dict[str, tuple[str, ...]], org_unit: str | None) -> frozenset[str]:
    """The restricted field names `user` may not see on an instance of `org_unit`."""
    return frozenset(name for name, audience in restricted.items() if not may_see_field(user, audience, org_unit))


# --- who may act on and manage a task (the engine asks through its TaskPolicy protocol; moved from Engine) ------
class TaskPolicy(RoleHolders):
    """The county's answer to the engine's two task questions (engine.policy.TaskPolicy), on its directory rules:
    who may act is the engine's rule (the assignee, or an active holder of the task's role, with the county's
    inherited roles); who manages another person's task is the county's."""

    def __init__(self, rules: DirectoryRules = RULES):
        super().__init__(rules)

    def is_manager(self, session: Session, human: HumanTask, actor: str) -> bool:
        """Supervisors and leads of the task's unit and the county office manage its tasks; admins manage the tasks
        no role reaches (those that went to the starter)."""
        held = directory.memberships_of(session, actor)
        return any((role, human.org_unit_code) in held for role in ("supervisor", "platform_lead")) or \
            ("office", "county") in held or (not human.role and any(role == "admin" for role, _ in held))


TASKS = TaskPolicy()


# --- work around tasks ------------------------------------------------------------------------------------------
def may_decide_extension(user: UserView, org_unit: str | None) -> bool:
    """Supervisors of the instance's org unit, and the county's supervisors, decide extensions."""
    return user.has_role("supervisor", org_unit) or user.has_role("supervisor", COUNTY)


def may_return_task(user: UserView, task: HumanTask) -> bool:
    """Only the task's assignee gives it back (退回) to everyone with its role."""
    return task.assignee == user.username


def may_hand_roleless_task_to_anyone(user: UserView) -> bool:
    """Admins may hand a task no role reaches (it went to the starter) to any active person."""
    return user.is_admin


# --- supervision (督办): the overdue board and urging ------------------------------------------------------------
BOARD_ROLES = ("supervisor",)        # not SUPERVISING (the ledger's, above): one name bound twice read this everywhere


def supervised_units(user: UserView) -> frozenset[str] | None:
    """The org units whose late work `user` watches on the board (each with every unit below it): None for all
    (the county-wide roles and admins); a unit's supervisors their own unit (a township's only their township)."""
    if sees_everything(user):
        return None
    return frozenset(org for role, org in user.memberships if role in BOARD_ROLES)


def may_see_board(user: UserView | None) -> bool:
    """Supervisors (of any unit) and everyone who sees every instance open the overdue board."""
    return user is not None and (sees_everything(user) or bool(supervised_units(user)))


def may_urge(user: UserView, task_units: Iterable[str]) -> bool:
    """The county office and the county's supervisors urge (催办) any open task; a unit's supervisors the tasks of
    their unit (`task_units`: the task's unit, its instance's unit and the units above both)."""
    held = set(user.memberships)
    if ("office", COUNTY) in held or ("supervisor", COUNTY) in held:
        return True
    return any(("supervisor", code) in held for code in task_units)


# --- how a topic comes in (the consultation's intake) ---------------------------------------------------------
def may_propose_topic(memberships: Iterable[tuple[str, str]]) -> bool:
    """CPPCC members raise a topic of their own (委员提出), credited to them."""
    return any(role == "member" for role, _ in memberships)


def may_record_for_residents(memberships: Iterable[tuple[str, str]]) -> bool:
    """The county office and the platforms' organizers record what residents raised offline (at a hall, on a
    visit, by phone) on their behalf."""
    return any(role == "office" and org == COUNTY or role == "organizer" for role, org in memberships)


def recording_townships(memberships: Iterable[tuple[str, str]], townships: Iterable[str]) -> frozenset[str] | None:
    """The townships whose residents' topics a person may record: None for any (the county office, the county's and
    the committees' organizers); a township's organizer only their own township's."""
    held, local = set(memberships), frozenset(townships)
    if any(role == "office" and org == COUNTY or role == "organizer" and org not in local for role, org in held):
        return None
    return frozenset(org for role, org in held if role == "organizer" and org in local)


# --- who is told ------------------------------------------------------------------------------------------------
def audience(name: str, org_unit: str | None) -> tuple[tuple[str, str | None], ...] | None:
    """The (role, org unit) pairs a notification addressed to `name` reaches, or None when `name` is no audience."""
    pairs = AUDIENCES.get(name)
    return None if pairs is None else tuple((role, org_unit if code is None else code) for role, code in pairs)


# --- administration ---------------------------------------------------------------------------------------------
def may_administer(user: UserView | None) -> bool:
    """Admins manage people, their roles and the org units (the admin pages and commands)."""
    return user is not None and user.is_admin


def may_manage_calendar(actor: UserView | None) -> bool:
    """Active admins enter and remove calendar days; None is the command-line operator, who always may."""
    return actor is None or (actor.active and actor.is_admin)


def may_see_outbox(user: UserView | None) -> bool:
    """Admins see the outbox (every delivery, its errors) and put parked deliveries back in the queue."""
    return may_administer(user)


def may_see_deadline_rules(user: UserView | None) -> bool:
    """Process owners, supervisors and the CPPCC office (of any unit), and admins, read the deadline rules."""
    return user is not None and (user.is_admin or any(
        role in {"process_owner", "supervisor", "office"} for role, _ in user.memberships))


def may_use_studio(user: UserView | None) -> bool:
    """Process owners (of any unit) and admins reach the studio: edit, validate, deploy and migrate processes."""
    return user is not None and user.active and (user.is_admin or any(
        role == "process_owner" for role, _ in user.memberships))


def may_handle_failures(user: UserView | None) -> bool:
    """Admins see the instances stopped in `error` and retry them."""
    return may_administer(user)


# --- the county's figures and members' records ------------------------------------------------------------------
FIGURES_ROLES = frozenset({"supervisor", "office", "platform_lead", "process_owner", "organizer"})


def may_see_figures(user: UserView | None) -> bool:
    """Staff see figures: admins, and anyone holding a staff role (supervisor, office, platform lead, process owner,
    organizer) somewhere; members and departments' liaisons do not."""
    return user is not None and (user.is_admin or any(role in FIGURES_ROLES for role, _ in user.memberships))


def figures_units(user: UserView) -> frozenset[str] | None:
    """The org units whose consultations `user`'s figures count: None for all (admins and the county's staff roles
    other than organizer: supervisors, office, platform leads, process owners); otherwise the units (a township,
    a committee) where they hold a staff role — a township's people see their township's figures."""
    if sees_everything(user):
        return None
    return frozenset(org for role, org in user.memberships if role in FIGURES_ROLES)


def may_see_member_record(user: UserView | None, username: str) -> bool:
    """A member's 履职 record: the member themselves, the county CPPCC office, supervisors and admins."""
    return user is not None and (user.username == username or user.is_admin or user.has_role("office", COUNTY)
                                 or user.has_role("supervisor"))


def may_manage_token(user: UserView | None, owner: str) -> bool:
    """An API token is listed and revoked by its owner and by admins."""
    return user is not None and (user.username == owner or user.is_admin)


# --- the halls registry (议事厅) and the 七有 standard ----------------------------------------------------------
HALL_STAFF = frozenset({"supervisor", "organizer", "platform_lead"})      # a township's staff watch its halls
HALL_KEEPERS = frozenset({"organizer", "platform_lead"})                   # and these keep them


def hall_units(user: UserView) -> frozenset[str] | None:
    """The townships whose halls `user` sees: None for all (admins and the county-wide roles: the office,
    supervisors, leadership); a township's staff their own township's (other units they hold match no hall)."""
    if sees_everything(user):
        return None
    return frozenset(org for role, org in user.memberships if role in HALL_STAFF)


def may_see_halls(user: UserView | None) -> bool:
    """Who opens the registry: whoever sees every hall, and a township's staff."""
    return user is not None and (sees_everything(user) or bool(hall_units(user)))


def may_see_hall(user: UserView | None, township: str) -> bool:
    """Whether `user` sees the halls of `township`."""
    if user is None:
        return False
    units = hall_units(user)
    return units is None or township in units


def may_keep_hall(user: UserView | None, township: str) -> bool:
    """Who edits a hall's profile and photos and assigns its members: the county office, and the organizers and
    platform leads of the hall's township."""
    return user is not None and user.active and (user.has_role("office", COUNTY) or any(
        (role, township) in set(user.memberships) for role in HALL_KEEPERS))


def may_enter_standard(user: UserView | None, township: str) -> bool:
    """The township's organizers and platform leads enter the four evidenced 七有 items (the office decides)."""
    return user is not None and user.active and any((role, township) in set(user.memberships) for role in HALL_KEEPERS)


def may_confirm_standard(user: UserView | None) -> bool:
    """The county CPPCC office confirms or returns an entered 七有 item."""
    return user is not None and user.active and user.has_role("office", COUNTY)


def may_import_halls(user: UserView | None) -> bool:
    """The county office imports the hall list for every township; a township's keepers for their own."""
    return user is not None and user.active and (user.has_role("office", COUNTY) or any(
        role in HALL_KEEPERS for role, _ in user.memberships))


def import_townships(user: UserView) -> frozenset[str] | None:
    """The townships whose halls a person's import may change: None for all (the county office)."""
    if user.has_role("office", COUNTY):
        return None
    return frozenset(org for role, org in user.memberships if role in HALL_KEEPERS)


# --- meetings and members' pages --------------------------------------------------------------------------------
MEETING_ROLES = frozenset({"organizer", "office", "platform_lead"})


def may_organize_meetings(user: UserView | None) -> bool:
    """Organizers, offices and platform leads (anywhere) and admins call meetings and hall activities."""
    return user is not None and (user.is_admin or any(role in MEETING_ROLES for role, _ in user.memberships))


def may_manage_meeting(user: UserView | None, organizer: str, org_unit: str) -> bool:
    """A meeting's notices, sign-in and minutes: its organizer, the county's staff (office, leadership, admins) and
    the organizers, offices and platform leads of the unit that holds it."""
    return user is not None and (user.username == organizer or sees_everything(user) or any(
        role in MEETING_ROLES and org == org_unit for role, org in user.memberships))


def may_see_member_page(user: UserView | None, username: str) -> bool:
    """A member's page (their halls, meetings and 履职 record, and its export): the same people as the record."""
    return may_see_member_record(user, username)


# --- the annual consultation plan (年度协商计划) ------------------------------------------------------------------
PLAN_EDITORS = ("organizer", "platform_lead")


def may_see_plans(user: UserView | None) -> bool:
    """Staff read the plans and their completion (as they read the figures): admins, supervisors, the office,
    platform leads, process owners and organizers."""
    return may_see_figures(user)


def may_edit_plan(user: UserView | None, org_unit: str) -> bool:
    """A unit's plan is drawn up and submitted by its organizers and platform leads (a township's by its own, not
    another's); the county CPPCC office draws up any unit's."""
    return user is not None and user.active and (
        any((role, org_unit) in set(user.memberships) for role in PLAN_EDITORS) or user.has_role("office", COUNTY))


def may_approve_plans(user: UserView | None) -> bool:
    """The county CPPCC office approves or returns the submitted plans."""
    return user is not None and user.active and user.has_role("office", COUNTY)


def may_link_plan_item(user: UserView | None, plan_unit: str) -> bool:
    """The office, and the organizers and leads of the plan's unit, start a consultation from a plan item or name
    the item a consultation carries out."""
    return may_edit_plan(user, plan_unit)


def may_lead_plan_item(memberships: Iterable[tuple[str, str]]) -> bool:
    """A plan item's lead is a CPPCC member."""
    return any(role == "member" for role, _ in memberships)
