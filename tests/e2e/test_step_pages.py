"""Every step's task page, opened by the person who must act, shows what earlier steps submitted that this person needs
(the case file, 卷宗); the proposer's phone only to those whose role needs it; a researcher's evidence file uploads,
downloads for those who may see the case and is refused to others; a forged upload reference is refused on the page.

The case moves through the engine with the scenario's own answers (tests/support/consultation.py), so the checks follow
the scenario: what a page must show is taken from what the earlier steps actually submitted. Each step's page is kept as
$XIESHANG_SHOTS/steps/<device>-<nn>-<step>.png."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.store.models import OrgUnit, User
from tests.conftest import CONSULTATION
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import DEVICE_NAMES, PASSWORD, fill_form
from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_formrender import SMALL_PDF

pytestmark = pytest.mark.e2e

SHOTS = shots("steps")
STEPS = ("triage", "define_topic", "approve_topic", "draft_plan", "review_plan", "research", "summarize_research",
         "hold_meeting", "draft_report", "approve_report", "record_instruction", "answer_suggestion",
         "follow_up_visit", "supervise", "reanswer_suggestion")
# What the person acting on a step needs from earlier steps: (earlier form, field). The values are whatever those
# steps submitted in this run; a field an earlier form no longer has is skipped, but every step must check something.
NEEDS = {
    "triage": [("intake", "title"), ("intake", "description"), ("intake", "township"), ("intake", "village"),
               ("intake", "category"), ("intake", "source"), ("intake", "contact_name"), ("intake", "contact_phone")],
    "define_topic": [("intake", "title"), ("intake", "description"), ("intake", "township")],
    "approve_topic": [("define_topic", "topic"), ("define_topic", "topic_rationale"),
                      ("define_topic", "expected_outcome"), ("intake", "description")],
    "draft_plan": [("define_topic", "topic"), ("define_topic", "topic_rationale"), ("intake", "description")],
    "review_plan": [("draft_plan", "plan_goal"), ("draft_plan", "meeting_date"), ("draft_plan", "venue"),
                    ("draft_plan", "researchers"), ("draft_plan", "research_questions"), ("define_topic", "topic")],
    "research": [("draft_plan", "research_questions"), ("draft_plan", "plan_goal"), ("define_topic", "topic"),
                 ("intake", "description")],
    "summarize_research": [("research", "findings"), ("research", "visited_places"), ("research", "evidence"),
                           ("draft_plan", "research_questions")],
    "hold_meeting": [("summarize_research", "research_summary"), ("draft_plan", "meeting_date"),
                     ("draft_plan", "venue"), ("draft_plan", "participants_note")],
    "draft_report": [("hold_meeting", "minutes"), ("hold_meeting", "suggestions"),
                     ("summarize_research", "research_summary")],
    "approve_report": [("draft_report", "report_title"), ("draft_report", "report_text"),
                       ("hold_meeting", "suggestions")],
    "record_instruction": [("draft_report", "report_title"), ("draft_report", "report_text")],
    "answer_suggestion": [("record_instruction", "instruction_text"), ("draft_report", "report_title")],
    "follow_up_visit": [("intake", "contact_name"), ("intake", "contact_phone"), ("hold_meeting", "suggestions"),
                        ("answer_suggestion", "measures"), ("answer_suggestion", "adoption")],
    "supervise": [("follow_up_visit", "residents_feedback"), ("follow_up_visit", "implementation_status"),
                  ("answer_suggestion", "measures"), ("intake", "contact_phone")],
    "reanswer_suggestion": [("follow_up_visit", "residents_feedback"), ("supervise", "supervision_notice"),
                            ("supervise", "supervision_deadline")],
}
PHONE_FIELD = ("intake", "contact_phone")
EVIDENCE = "老街路灯调研照片.pdf"
FORGED = "../../../../etc/passwd"
OUTSIDER = "m011"          # a member of another township, on no task of these cases


@dataclasses.dataclass
class Submitted:
    """One form submitted so far: which, by whom, with what data (what the case file must show)."""

    spec: str
    actor: str | None
    data: dict


class Case:
    """One consultation moved through the engine as its scenario answers, remembering what each step submitted."""

    def __init__(self, walk, scenario):
        self.walk, self.engine, self.scenario = walk, walk.server.engine, scenario
        self.instance_id = self.engine.start_instance("consultation", scenario.intake(), actor="m001")
        self.submitted = [Submitted("intake", None, scenario.intake())]
        self.names = _display_names(self.engine)

    def ready(self):
        """The next task ready on the case, firing a due timer (the follow-up wait) when none is; None when done."""
        for _ in range(3):
            tasks = self.engine.list_tasks(instance_id=self.instance_id)
            if tasks:
                return tasks[0]
            view = self.engine.show_instance(self.instance_id)
            if view.status in {"completed", "cancelled", "error"}:
                return None
            assert view.next_timer_at is not None, f"#{self.instance_id} is stuck in {view.status}"
            self.walk.server.clock.set(view.next_timer_at + timedelta(seconds=1))
            self.engine.fire_due_timers()
        raise AssertionError(f"#{self.instance_id}: no task after firing its timers")

    def answer(self, task) -> dict:
        return self.scenario.answer(task.task_spec, self.engine.show_instance(self.instance_id).data)

    def complete(self, task) -> None:
        """Complete the task through the engine with the scenario's answer, as its first candidate."""
        data = self.answer(task)
        actor = task.assignee or task.candidates[0]
        self.engine.complete_task(task.id, data, actor=actor, revision=self.engine.get_task(task.id).revision)
        self.submitted.append(Submitted(task.task_spec, actor, data))

    def advance_to(self, spec: str):
        """Complete tasks until a `spec` task is ready; returns it."""
        for _ in range(100):
            task = self.ready()
            assert task is not None, f"#{self.instance_id} finished without reaching {spec}"
            if task.task_spec == spec:
                return task
            self.complete(task)
        raise AssertionError(f"never reached {spec}")

    def expected(self, spec: str) -> list[tuple[Submitted, str]]:
        """(submission, text as its page shows it) for everything `spec`'s person needs from earlier forms."""
        wanted = []
        for earlier, name in NEEDS.get(spec, ()):
            for sub in (s for s in self.submitted if s.spec == earlier):
                if name == "evidence":
                    wanted += [(sub, EVIDENCE)] if sub.data.get(name) else []
                else:
                    wanted += [(sub, text) for value in _values(sub.data, name)
                               for text in _shown(earlier, name, value, self.names)]
        return wanted


# --- reading values as the case file shows them --------------------------------------------------------------------

def _display_names(engine) -> dict:
    """People by username and org units (platforms, departments, halls) by code, as the case file names them."""
    with engine.reading() as session:
        return {**dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all()),
                **dict(session.execute(select(User.username, User.display_name)).all())}


def _form(spec: str) -> tuple[dict, dict]:
    folder = CONSULTATION / "forms"
    schema = json.loads((folder / f"{spec}.schema.json").read_text(encoding="utf-8"))
    ui_path = folder / f"{spec}.ui.json"
    return schema, json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.exists() else {}


def _values(data, name: str):
    """Every value of the field `name` in submitted data: at the top or in rows (a form answering per item)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == name:
                yield value
            else:
                yield from _values(value, name)
    elif isinstance(data, list):
        for item in data:
            yield from _values(item, name)


def _field(prop: dict, ui: dict, name: str) -> tuple[dict, dict] | None:
    """The schema and UI schema of the field `name`, at the top or inside rows."""
    if "items" in prop:
        prop, ui = prop["items"], ui.get("items") or {}
    props = prop.get("properties") or {}
    if name in props:
        return props[name], ui.get(name) or {}
    for key, inner in props.items():
        found = _field(inner, ui.get(key) or {}, name)
        if found:
            return found
    return None


def _shown(spec: str, name: str, value, names: dict) -> list[str]:
    """The texts a submitted value reads as: choice titles for codes, names for people, 年月日 for dates."""
    prop, ui = _field(*_form(spec), name) or ({}, {})
    return _read(prop, ui, value, names)


def _read(prop: dict, ui: dict, value, names: dict) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):    # a people picker's widget is named on the list, not on its items
        item_ui = ui.get("items") or {key: v for key, v in ui.items() if key == "ui:widget"}
        return [text for item in value for text in _read(prop.get("items") or {}, item_ui, item, names)]
    if isinstance(value, dict):
        props = prop.get("properties") or {}
        return [text for key, item in value.items() for text in _read(props.get(key) or {}, ui.get(key) or {},
                                                                    item, names)]
    titles = {option.get("const"): option.get("title") for option in prop.get("oneOf") or []}
    if value in titles:
        return [titles[value]]
    if ui.get("ui:widget") in ("people", "orgunit"):
        return [names.get(value, value)]
    date = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", str(value))
    if date:
        year, month, day = (int(part) for part in date.groups())
        return [f"{year}年{month}月{day}日"]
    return [str(value)]


# --- the person at their page ---------------------------------------------------------------------------------------

class People:
    """The people at the browser: each signs in once (straight to the page they came for) and keeps their own
    context for their later steps; the walk's current page is always the person's who acts now."""

    def __init__(self, walk):
        self.walk, self.contexts = walk, {}

    def at(self, username: str, path: str) -> Page:
        """`username`'s browser showing `path`."""
        walk = self.walk
        if username in self.contexts:
            walk.context, walk.page = self.contexts[username]
            walk.user = username
            walk.page.goto(path)
            return walk.page
        walk.context = walk.page = None          # not closed: the previous person comes back later
        page = walk.open(username)
        self.contexts[username] = (walk.context, page)
        page.goto(f"/login?next={quote(path)}")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(f"**{path}")
        return page

    def close(self) -> None:
        """Close every context but the current one (the walk closes that, after a failure's screenshot)."""
        for context, _page in self.contexts.values():
            if context is not self.walk.context:
                context.close()


@pytest.fixture
def people(walk):
    """Signed-in contexts per person for this walk."""
    crowd = People(walk)
    yield crowd
    crowd.close()


def open_step(case: Case, people: People, task, number: int) -> Page:
    """The person who must act (claiming first where several could) opens the task page; it is kept as a PNG."""
    actor = task.assignee or task.candidates[0]
    if not task.assignee and len(task.candidates) > 1:
        case.engine.claim_task(task.id, actor)
    page = people.at(actor, f"/tasks/{task.id}")
    expect(page.locator("form.task-form")).to_be_visible()
    path = case.walk.shot(task.task_spec)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{case.walk.device}-{number:02d}-{task.task_spec}.png")
    return page


def check_needs(case: Case, page: Page, task) -> int:
    """Each text the step needs is in the case file, in the entry its submitter made, readable once that step's
    section is opened; the item a task is about (a suggestion, a researcher) is named on the page. Returns how many."""
    assert task.task_spec in NEEDS, f"{task.task_spec} is a new step: say in NEEDS what its person needs"
    casefile = page.locator(".casefile")
    checked = 0
    for sub, text in case.expected(task.task_spec):
        if sub.spec == PHONE_FIELD[0] and text == sub.data.get(PHONE_FIELD[1]):
            continue    # the phone has its own check: who may see it
        entries = page.locator("article.case-entry")      # relative: also the filter inside a section below
        if sub.actor is not None:
            entries = entries.filter(has=page.locator(".case-meta", has_text=case.names.get(sub.actor, sub.actor)))
        entries = entries.filter(has_text=text)
        expect(casefile.locator(entries).last,
               f"{task.task_spec}: the case file lacks {sub.spec}'s {text!r}").to_be_attached()
        _open_section(casefile, entries)
        expect(casefile.locator(entries).last).to_be_visible()
        checked += 1
    if task.item_label:
        expect(page.locator("h1")).to_contain_text(task.item_label)
        expect(page.locator(".card.item")).to_contain_text(task.item_label)
        checked += 1
    assert checked, f"{task.task_spec}: nothing the person needs was checked (NEEDS no longer matches the forms)"
    return checked


def _open_section(casefile, entries) -> None:
    """Open the case file's step section holding the (last) entry, as a person clicks its heading."""
    section = casefile.locator("details.case-step").filter(has=entries).last
    if section.get_attribute("open") is None:
        section.locator("summary").click()


def check_phone(case: Case, page: Page, task) -> None:
    """The proposer's phone is on the page when the acting role is in the field's audience (office, organizer,
    supervisor), and nowhere in the page for any other role; a step that needs it (NEEDS) must have such a role."""
    phone = case.scenario.intake()["contact_phone"]
    audience = _form(PHONE_FIELD[0])[1][PHONE_FIELD[1]]["ui:audience"]
    if PHONE_FIELD in NEEDS.get(task.task_spec, ()):
        assert task.role in audience, f"{task.task_spec} needs the proposer's phone; its role {task.role} may not"
    if task.role in audience:
        casefile, entries = page.locator(".casefile"), page.locator("article.case-entry").filter(has_text=phone)
        expect(casefile.locator(entries).last).to_be_attached()
        _open_section(casefile, entries)
        expect(casefile.locator(entries).last).to_be_visible()
    else:
        assert phone not in page.content(), f"{task.task_spec}: {case.walk.user} ({task.role}) sees the phone"
        expect(page.locator(".casefile .withheld").first).to_be_attached()


# --- the research step in the browser: a forged reference, then a real file -----------------------------------------

def research_with_evidence(case: Case, task, page: Page) -> None:
    """The member types their findings and slips a forged file reference in: refused beside the field, their text
    kept, nothing submitted. Then they attach a real file and submit."""
    data = case.answer(task)
    fill_form(page, data)
    page.locator("form.task-form").evaluate(
        "(form, forged) => { const i = document.createElement('input'); i.type = 'hidden'; i.name = 'evidence';"
        " i.value = forged; form.appendChild(i); }", FORGED)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".field-error")).to_contain_text("文件引用无效")
    expect(page.locator('[name="findings"]')).to_have_value(data["findings"])
    assert FORGED not in page.content()
    assert case.engine.get_task(task.id).status == "ready"
    case.walk.shot("research-forged")

    page.locator('input[type=file][name="evidence"]').set_input_files(
        {"name": EVIDENCE, "mimeType": "application/pdf", "buffer": SMALL_PDF})
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))
    expect(page.locator(".flash.success")).to_be_visible()
    assert case.engine.get_task(task.id).status == "completed"
    case.submitted.append(Submitted("research", task.candidates[0], data | {"evidence": EVIDENCE}))


def check_evidence_download(case: Case, page: Page) -> str:
    """The organizer downloads the researcher's file from the case file: the same bytes, the original name."""
    casefile = page.locator(".casefile")
    link = casefile.locator("a.file-link", has_text=EVIDENCE)
    expect(link).to_have_count(1)
    _open_section(casefile, page.locator("article.case-entry").filter(has=page.locator("a.file-link",
                                                                                        has_text=EVIDENCE)))
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == EVIDENCE
    assert Path(download.value.path()).read_bytes() == SMALL_PDF
    href = link.get_attribute("href")
    answer = page.request.get(href)
    assert answer.status == 200 and answer.body() == SMALL_PDF
    return href


def check_outsider(case: Case, people: People, href: str, task_id: str) -> None:
    """A signed-in member of another township sees neither the case, nor its task, nor its file."""
    page = people.at(OUTSIDER, "/inbox")
    assert page.request.get(f"/instances/{case.instance_id}").status in {403, 404}
    assert page.request.get(f"/tasks/{task_id}").status in {403, 404}
    answer = page.request.get(href)
    assert answer.status == 403 and SMALL_PDF not in answer.body()


# --- the walk ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_every_step_shows_the_person_acting_what_earlier_steps_submitted(walk, people):
    """Township case with one unsatisfied follow-up (so supervision and re-answers happen); a county case for the
    topic approval. Each step's first task is opened by its person; all others complete through the engine."""
    device = DEVICE_NAMES[walk.device]
    township = Case(walk, dataclasses.replace(copy.deepcopy(SCENARIOS["township"]), name=f"{device}逐步",
                                              unsatisfied_rounds=1, counters={}))
    county = Case(walk, dataclasses.replace(copy.deepcopy(SCENARIOS["county"]), name=f"{device}要事",
                                            topic_rejections=0, counters={}))
    seen: dict[str, int] = {}

    def visit(case: Case, task) -> None:
        number = STEPS.index(task.task_spec) + 1 if task.task_spec in STEPS else 50 + len(seen)
        page = open_step(case, people, task, number)
        seen[task.task_spec] = check_needs(case, page, task)
        check_phone(case, page, task)
        if task.task_spec == "research":
            research_with_evidence(case, task, page)
        elif task.task_spec == "summarize_research":
            check_outsider(case, people, check_evidence_download(case, page), task.id)

    visit(county, county.advance_to("approve_topic"))
    county.engine.cancel_instance(county.instance_id, actor="admin", reason="e2e: only its topic approval was needed")
    while (task := township.ready()) is not None:
        if task.task_spec not in seen:
            visit(township, task)
        if township.engine.get_task(task.id).status == "ready":
            township.complete(task)
    assert township.engine.show_instance(township.instance_id).status == "completed"
    assert set(STEPS) <= set(seen), f"steps never reached: {sorted(set(STEPS) - set(seen))}"
