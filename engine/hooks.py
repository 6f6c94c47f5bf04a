"""How a process plugs its own records and words into the engine: hooks registered per process id.

A process without hooks runs plainly: no records beside its BPMN state, no tier or org unit taken from its data.
A hook is our code, not the diagram's: when one fails, the command stops with `HookFailed` (the cause kept and
logged with its traceback) and its transaction rolls back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sqlalchemy import and_, or_
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import EngineError, HookFailed
from engine.store.models import ProcessInstance

log = logging.getLogger(__name__)

Scope = tuple[str | None, str | None]      # (tier, org unit code)
PLAIN_SCOPE: Scope = (None, None)


@dataclass(frozen=True)
class ProcessHooks:
    """What one process adds to the plain BPMN runtime; every callback is optional.

    - `on_start(session, instance, data, now)`: after the instance row exists, before the workflow first runs.
    - `on_save(session, instance, data, now, advance)`: after every save of the instance (same transaction).
    - `scope(data) -> (tier, org_unit)`: where the instance and its tasks belong, read from workflow data.
    - `public_view(session, code)`: what anyone holding a tracking code may see (None when the code is unknown).
    - `titles(session, instance_ids) -> {id: title}`: what lists, the inbox and notifications call its instances.
    - `subjects(session, instance_ids) -> {id: subject}`: what notifications call them (default: their titles).
    - `search(text)`: a SELECT of the ids of its instances whose title matches `text`.
    - `details(session, instance)`: the instance page's process section (a frozen dataclass; its `usernames`
      are named on the page; its `as_dict()`, if any, goes into the API's instance body).
    - `vocabulary`: the process's words, e.g. step number → step name.
    """

    process_id: str
    on_start: Callable | None = None
    on_save: Callable | None = None
    scope: Callable[[dict], Scope] | None = None
    public_view: Callable | None = None
    titles: Callable | None = None
    subjects: Callable | None = None
    search: Callable | None = None
    details: Callable | None = None
    vocabulary: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))


class HookRegistry:
    """Hooks by process id, registered explicitly by the composition root (see `domain.services`)."""

    def __init__(self, *hooks: ProcessHooks, process_names: Callable | None = None):
        self._hooks: dict[str, ProcessHooks] = {}
        self._process_names = process_names      # session -> {process id: the diagram's name for it}
        for item in hooks:
            self.register(item)

    def naming(self, process_names: Callable) -> HookRegistry:
        """A copy that calls a plain process's instances by the diagram's process name (`process_names(session)`)."""
        return HookRegistry(*self, process_names=process_names)

    def register(self, hooks: ProcessHooks) -> None:
        """Add a process's hooks; a process registers once."""
        if hooks.process_id in self._hooks:
            raise ValueError(f"hooks for process {hooks.process_id!r} are already registered")
        self._hooks[hooks.process_id] = hooks

    def of(self, process_id: str) -> ProcessHooks:
        """The process's hooks; an unregistered process gets none (it runs plainly)."""
        return self._hooks.get(process_id) or ProcessHooks(process_id)

    def __iter__(self):
        return iter(self._hooks.values())

    def call(self, process_id: str, name: str, *args):
        """Run hook `name` of the process if it has one; its failure becomes `HookFailed`."""
        hook = getattr(self.of(process_id), name)
        return None if hook is None else guarded(process_id, name, hook, *args)

    def scope(self, process_id: str, data: dict) -> Scope:
        """(tier, org unit) from the process's data; (None, None) for a process without a scope hook."""
        found = self.call(process_id, "scope", data)
        return PLAIN_SCOPE if found is None else found

    def titles(self, session, instances: Iterable[tuple[int, str]]) -> dict[int, str]:
        """Titles of (instance id, process id) pairs: the process's own, else `plain_title` (no guessing from data)."""
        by_process: dict[str, list[int]] = defaultdict(list)
        for instance_id, process_id in instances:
            by_process[process_id].append(instance_id)
        found: dict[int, str] = {}
        names: dict[str, str] | None = None
        for process_id, ids in by_process.items():
            own = self.call(process_id, "titles", session, ids) or {}
            if any(i not in own for i in ids) and names is None:
                names = self._names(session)
            found.update({i: own.get(i) or plain_title((names or {}).get(process_id, process_id), i) for i in ids})
        return found

    def title(self, session, instance_id: int, process_id: str) -> str:
        """One instance's title."""
        return self.titles(session, [(instance_id, process_id)])[instance_id]

    def subject(self, session, instance_id: int, process_id: str) -> str:
        """What a notification about the instance is called: the process's subject, else the instance's title."""
        own = self.call(process_id, "subjects", session, [instance_id]) or {}
        return own.get(instance_id) or self.title(session, instance_id, process_id)

    def matching(self, session, text: str):
        """SQL condition on ProcessInstance: its title matches `text` (a process without a search hook: its id or
        its diagram's name)."""
        hooked = [hooks for hooks in self if hooks.search is not None]
        conditions = [and_(ProcessInstance.process_id == hooks.process_id,
                           ProcessInstance.id.in_(guarded(hooks.process_id, "search", hooks.search, text)))
                      for hooks in hooked]
        named = [process_id for process_id, name in self._names(session).items() if text.casefold() in name.casefold()]
        plain = ProcessInstance.process_id.notin_([hooks.process_id for hooks in hooked])
        return or_(*conditions, and_(plain, or_(ProcessInstance.process_id.ilike(f"%{text}%"),
                                                ProcessInstance.process_id.in_(named))))

    def _names(self, session) -> dict[str, str]:
        return {} if self._process_names is None else self._process_names(session)

    def process_names(self, session) -> dict[str, str]:
        """Each deployed process's name as its latest diagram gives it, by process id (none without a namer)."""
        return self._names(session)

    def details(self, session, instance):
        """The instance page's process section; None for a process without a details hook."""
        return self.call(instance.process_id, "details", session, instance)


def plain_title(process_name: str, instance_id: int) -> str:
    """A process's instance as named without a titles hook: the diagram's process name (else its id) and number,
    e.g. "意见箱 #7"."""
    return f"{process_name} #{instance_id}"


def guarded(process_id: str, name: str, hook: Callable, *args):
    """Call a hook; an error it raises on purpose (an EngineError) or a stale write passes, anything else is a bug in
    our code: logged with its traceback and raised as `HookFailed` with the cause kept."""
    try:
        return hook(*args)
    except (EngineError, StaleDataError):
        raise
    except Exception as exc:
        log.exception("hook %s.%s failed", process_id, name)
        raise HookFailed(process_id, name) from exc
