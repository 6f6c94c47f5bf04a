"""The composition root: the product as one object, `Services` — the engine built with the county's process hooks,
working-day calendar, task policy, directory rules and assignment listener, and the domain services on top of it.

The command line, the web app, the Celery workers and the tests build a `Services` and use its parts
(`services.engine.complete_task(...)`, `services.participation.inbox(...)`); nothing else wires the engine.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import sessionmaker

from domain.calendar import workdays
from domain.calendar.workdays import WorkCalendar
from domain.consultation.vocabulary import TIER_NAMES
from domain.notifications import dispatch
from domain.notifications.centre import NotificationCentre
from domain.notifications.urge import Supervision
from domain.people.accounts import Accounts
from domain.people.policy import ESCALATION_LADDER, TASKS
from domain.people.roles import RULES
from domain.plans.service import Plans
from domain.wiring import standard_hooks
from domain.work.extensions import Extensions
from domain.work.participation import Participation
from domain.work.uploads import Uploads
from engine.clock import Clock
from engine.failures import Swept
from engine.hooks import HookRegistry
from engine.service import Engine
from engine.settings import Settings
from engine.store.db import make_engine, make_session_factory
from engine.sweep import SweepResult, run_sweep

# The county's directory rules with the method's words for its tiers, as the engine's messages use them.
DIRECTORY_RULES = replace(RULES, tier_names=TIER_NAMES)


class Services:
    """The engine and the domain services that share its sessions, clock and policy."""

    def __init__(self, sessions: sessionmaker, clock: Clock | None = None, settings: Settings | None = None,
                 hooks: HookRegistry | None = None):
        """Services on `sessions`; `settings` for notifications (None: read from the environment when needed);
        `hooks` replaces the product's process hooks (tests: a registry of their own, or an empty one)."""
        self.settings = settings
        self.policy = TASKS
        self.engine = Engine(sessions, clock, hooks=standard_hooks() if hooks is None else hooks,
                             calendar=workdays, policy=self.policy, directory_rules=DIRECTORY_RULES,
                             escalation_ladder=ESCALATION_LADDER,
                             on_task_added=(dispatch.notify_assignment,))     # the people who may act are told
        self.accounts = Accounts(self.engine.unit_of_work, self.engine.clock, self.engine.reading)
        self.participation = Participation(self.engine, self.policy)
        self.extensions = Extensions(self.engine, self.policy)
        self.supervision = Supervision(self.engine, settings)        # the overdue board and 催办
        self.plans = Plans(self.engine.unit_of_work, self.engine.reading, self.engine.clock)    # 年度协商计划
        self.uploads = Uploads(self.engine, self.policy, settings.instance_path / "uploads" if settings else None)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Services:
        """The product on the configured database."""
        return cls(make_session_factory(make_engine(settings.database_url)), clock, settings)

    @classmethod
    def from_url(cls, url: str, clock: Clock | None = None, hooks: HookRegistry | None = None) -> Services:
        """The product on the database at `url` (tools and tests)."""
        return cls(make_session_factory(make_engine(url)), clock, hooks=hooks)

    def deliveries(self, engine: Engine, now: datetime) -> Swept:
        """The sweep's delivery part: dispatch and deliver the outbox messages due at `now`, then delete the evidence
        files of abandoned drafts and refused submits (a crash there is reported as this part's)."""
        delivered = dispatch.run_deliveries(engine, now, settings=self.settings)
        self.uploads.sweep(now)
        return delivered

    def sweep(self, now: datetime | None = None) -> SweepResult:
        """One sweep: timers, deadlines, then deliveries (the same `run_sweep` the thread and Celery call)."""
        return run_sweep(self.engine, now, self.deliveries)

    def notifications(self) -> NotificationCentre:
        """A notification centre on this product's engine and settings."""
        return NotificationCentre(self.engine, self.settings)

    def calendar(self) -> WorkCalendar:
        """The working-day calendar's admin commands."""
        return WorkCalendar(self.engine.unit_of_work, self.engine.clock)

    def close(self) -> None:
        """Close the database connections (tests, tools)."""
        self.engine.sessions.kw["bind"].dispose()
