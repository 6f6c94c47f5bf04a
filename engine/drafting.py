"""Drafting: the studio's commands on process drafts (a mixin of `Engine`).

Each command is its own unit of work. Validation reports every problem the engine would refuse the draft for, in the
same `Problem` shape deploying from files gives, plus the non-blocking notices; deploying a draft creates an immutable
version (content hash, author, time) and removes the draft, so the next edit starts from what runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidState, Problem, SpecInvalid
from engine.store import drafts, versions
from engine.store.drafts import DraftView


@dataclass(frozen=True)
class DraftDeployed:
    """What deploying a draft made: the version's id and short hash, and whether it was new content."""

    process_id: str
    version_id: int
    version: str
    created: bool
    number: int


class Drafting:
    """Open, create, save, validate, discard and deploy process drafts (a mixin of `Engine`)."""

    def draft(self, process_id: str, actor: str | None = None) -> DraftView:
        """The process's draft (started from its newest version on first open)."""
        with self.unit_of_work() as session:
            return drafts.view(drafts.open_draft(session, process_id, actor, self.clock.now()))

    def existing_draft(self, process_id: str) -> DraftView | None:
        """The process's draft if someone has started one, without starting it."""
        with self.reading() as session:
            row = drafts.find(session, process_id)
            return None if row is None else drafts.view(row)

    def open_drafts(self) -> dict[str, DraftView]:
        """Every process's draft that someone has started, by process id."""
        with self.reading() as session:
            return {row.process_id: drafts.view(row) for row in drafts.every(session)}

    def create_process(self, process_id: str, name: str, actor: str | None) -> DraftView:
        """A draft of a new process with a blank diagram."""
        with self.unit_of_work() as session:
            row = drafts.create(session, process_id, name, actor, self.clock.now())
            self.audit(session, None, "draft_created", actor, None, {"process_id": process_id})
            return drafts.view(row)

    def save_draft_file(self, process_id: str, path: str, text: str, actor: str | None,
                        revision: int | None) -> DraftView:
        """Save one file of the draft; ConcurrentUpdate when someone saved after `revision`."""
        with self.unit_of_work() as session:
            return drafts.view(drafts.put_file(session, process_id, path, text, actor, self.clock.now(), revision))

    def save_draft_files(self, process_id: str, files: dict[str, str], actor: str | None,
                         revision: int | None) -> DraftView:
        """Save several files of the draft at once (a form's schema and UI schema): all or none, one revision."""
        with self.unit_of_work() as session:
            return drafts.view(drafts.put_files(session, process_id, files, actor, self.clock.now(), revision))

    def remove_draft_file(self, process_id: str, path: str, actor: str | None, revision: int | None) -> DraftView:
        """Remove one file from the draft."""
        with self.unit_of_work() as session:
            return drafts.view(drafts.remove_file(session, process_id, path, actor, self.clock.now(), revision))

    def discard_draft(self, process_id: str, actor: str | None) -> None:
        """Throw the draft away."""
        with self.unit_of_work() as session:
            drafts.discard(session, process_id)
            self.audit(session, None, "draft_discarded", actor, None, {"process_id": process_id})

    def review_draft(self, process_id: str) -> tuple[list[Problem], list[Problem]]:
        """(problems that block deploying, warnings) of the process's draft, each naming its file and element: the
        engine's parse problems, then the lint rules' errors and warnings (unreachable, dead end, …) and notices."""
        draft = self.draft(process_id)
        try:
            parsed = self.cache.parse(draft.bundle)
        except SpecInvalid as exc:
            return exc.problems, []
        problems = [] if parsed.process_id == process_id else [Problem(
            "-", None, parsed.process_id, f"the executable process's id is {parsed.process_id!r}; "
                                          f"this draft deploys process {process_id!r}")]
        found = self.lint_bundle(draft.bundle)
        return (problems + [p for p in found if p.severity == "error"],
                [p for p in found if p.severity != "error"])

    def deploy_draft(self, process_id: str, actor: str | None, revision: int | None = None,
                     note: str = "") -> DraftDeployed:
        """Deploy the draft as an immutable version (with its author's note) and remove the draft; SpecInvalid lists
        every problem."""
        problems, _ = self.review_draft(process_id)
        if problems:
            raise SpecInvalid(problems)
        with self.unit_of_work() as session:
            row = drafts.find(session, process_id)
            if row is None:
                raise InvalidState(f"no draft of process {process_id!r}")
            if revision is not None and revision != row.revision:
                raise InvalidState(f"the draft of {process_id!r} changed since it was validated; validate again")
            version, created = versions.deploy(session, self.cache, drafts.view(row).bundle, actor,
                                               self.clock.now(), note)
            session.delete(row)
            if created:
                self.audit(session, None, "version_deployed", actor, None,
                           {"process_id": version.process_id, "version": version.content_hash[:12]})
            return DraftDeployed(version.process_id, version.id, version.content_hash[:12], created, version.number)
