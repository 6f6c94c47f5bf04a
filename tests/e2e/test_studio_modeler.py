"""In the browser, a process owner changes the six-step process in the studio's modeler: adds a user task, gives it
a form in the properties panel, validates (the problem is marked on the task), fixes it, deploys, and a new instance
runs the new version; the migration page refuses to move an instance that started before the change (with why) and
moves the new version's instance onto a later version; a save on a stale revision says so and keeps the edits.
Screenshots on desktop and phone (also copied to $XIESHANG_SHOTS/modeler).

The deployed change would alter the consultation every other end-to-end test starts, so this module runs its own
server on its own database."""

from __future__ import annotations

import copy
import shutil
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import FrozenClock
from engine.settings import Settings
from engine.store import db
from tests.conftest import CONSULTATION, ROOT
from tests.e2e.conftest import FIRST_DAY, OUTPUT, LiveServer, Walk, shots
from tests.e2e.test_content_security_policy import no_violations, watch
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS
from webui import create_app

SHOTS = shots("modeler")
STUDIO = "window.XieshangStudio"
# Insert a user task 预审 (pre_check) between the intake and the routing table, in the office's lane, with the form
# file named as if copied from another diagram (the draft has no such file yet).
ADD_TASK = """() => {
    const m = window.XieshangStudio.modeler;
    const reg = m.get('elementRegistry'), modeling = m.get('modeling'), moddle = m.get('moddle');
    const pool = reg.filter(e => e.type === 'bpmn:Participant')[0];
    const task = modeling.createShape(m.get('elementFactory').createShape({type: 'bpmn:UserTask'}),
        {x: 250, y: 245}, pool);
    modeling.updateProperties(task, {id: 'pre_check', name: '预审'});
    modeling.reconnectEnd(reg.get('flow_intake_to_route'), task, {x: task.x, y: task.y + task.height / 2});
    modeling.connect(task, reg.get('route'));
    const prop = moddle.create('spiffworkflow:Property',
        {name: 'formJsonSchemaFilename', value: 'forms/pre_check.schema.json'});
    const props = moddle.create('spiffworkflow:Properties', {values: [prop]});
    const ext = moddle.create('bpmn:ExtensionElements', {values: [props]});
    modeling.updateProperties(task, {extensionElements: ext});
    m.get('selection').select(task);
    return [pool.businessObject.processRef.id, task.businessObject.$parent.id];
}"""
PRE_CHECK_FORM = {"title": "预审", "type": "object", "required": ["complete"],
                  "properties": {"complete": {"type": "boolean", "title": "材料齐全"}}}


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app with the demo people and the consultation, on a database of this module's own."""
    folder = tmp_path_factory.mktemp("studio-e2e")
    url = f"sqlite:///{folder / 'xieshang.db'}"
    db.upgrade(url)
    clock = FrozenClock(FIRST_DAY)
    services = Services.from_url(url, clock)
    with services.engine.unit_of_work() as session:
        load_demo(session, clock.now())
    services.engine.deploy([CONSULTATION], actor="owner")
    app = create_app({"SETTINGS": Settings(url, None, folder, ROOT / "processes"), "SERVICES": services,
                      "SECRET_KEY": "e2e-studio"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-studio", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", services.engine, clock)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    services.engine.sessions.kw["bind"].dispose()


@pytest.fixture
def studio_walk(request, browser, studio_server) -> Iterator[Walk]:
    device = request.param
    folder = OUTPUT / f"studio-{device}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run = Walk(browser, studio_server, device, folder)
    yield run
    run.close()


def keep(walk: Walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


def open_modeler(walk: Walk, process_id: str = "consultation") -> Page:
    page = as_person(walk, "owner")
    page.goto(f"/studio/processes/{process_id}/edit")
    page.wait_for_function(f"{STUDIO} && {STUDIO}.ready")
    page.evaluate(f"{STUDIO}.ready")
    expect(page.locator("#studio-status")).to_contain_text("已打开草稿")
    return page


def status(page: Page):
    return page.locator("#studio-status")


@pytest.mark.parametrize("studio_walk", ["desktop"], indirect=True)
def test_owner_adds_a_task_with_a_form_validates_fixes_deploys_and_starts_it(studio_walk):
    walk, engine = studio_walk, studio_walk.server.engine
    page = open_modeler(walk)
    console = watch(page)
    page.reload()
    page.wait_for_function(f"{STUDIO} && {STUDIO}.ready")
    page.evaluate(f"{STUDIO}.ready")
    assert page.locator("#studio-canvas .djs-element").count() > 100        # the whole six-step diagram
    keep(walk, "opened")

    assert page.evaluate(ADD_TASK) == ["consultation", "consultation"]
    expect(status(page)).to_contain_text("有未保存的修改")
    keep(walk, "task-added")
    group = page.locator(".bio-properties-panel-group-header", has_text="协商引擎")
    expect(group).to_be_visible()
    if "open" not in (group.get_attribute("class") or ""):
        group.click()
    schema = page.locator("select[name='xs-formJsonSchemaFilename']")
    expect(schema).to_have_value("forms/pre_check.schema.json")
    expect(schema.locator("option:checked")).to_contain_text("不在草稿中")

    page.get_by_role("button", name="校验").click()
    expect(status(page)).to_contain_text("发现 1 个问题")
    marked = page.locator("#studio-canvas .djs-element.xs-problem[data-element-id='pre_check']")
    expect(marked).to_have_count(1)                                          # the marker is ON the new task
    badge = page.locator(".studio-badge[data-element-id='pre_check']")
    expect(badge).to_have_text("1")
    expect(page.locator(".studio-problem-on-diagram[data-element-id='pre_check']")).to_contain_text(
        "表单文件 forms/pre_check.schema.json 不在草稿中")     # in the reader's language
    keep(walk, "problem-marked")

    # The fix, in the panel: name a new form; the studio makes its two files in the draft.
    new_form = page.locator("input[name='xs-new-form']")
    new_form.fill("pre_check")
    new_form.press("Enter")
    expect(status(page)).to_contain_text("已在草稿中新建表单 forms/pre_check.schema.json")
    draft = engine.existing_draft("consultation")
    assert {"forms/pre_check.schema.json", "forms/pre_check.ui.json"} <= set(draft.files)
    # the form editor (another page) fills the form in; here its content is saved through the same endpoint
    answer = page.evaluate("""form => window.XieshangStudio.put('forms/pre_check.schema.json',
        JSON.stringify(form, null, 2))""", PRE_CHECK_FORM)
    assert answer is True
    expect(page.locator("select[name='xs-formUiSchemaFilename']")).to_have_value("forms/pre_check.ui.json")
    org_unit = page.locator("input[name='xs-prop-orgUnit']")                # the county office does it
    org_unit.fill('"county"')
    org_unit.press("Enter")
    page.locator("select[name='xs-prop-step']").select_option("0")

    page.get_by_role("button", name="校验").click()
    expect(status(page)).to_contain_text("校验通过")
    expect(page.locator(".xs-problem")).to_have_count(0)
    keep(walk, "valid")

    # an instance started on the version before the change, now waiting at 受理分流 (triage)
    old_id = engine.start_instance("consultation", copy.deepcopy(SCENARIOS["township"]).intake(), "m001")
    page.locator("#studio-note").fill("增加预审环节")
    page.get_by_role("button", name="发布").click()
    expect(status(page)).to_contain_text("已发布为版本")
    keep(walk, "deployed")
    no_violations(page, console)
    assert engine.existing_draft("consultation") is None or \
        engine.existing_draft("consultation").base_version_id is not None

    instance_id = engine.start_instance("consultation", copy.deepcopy(SCENARIOS["township"]).intake(), "m001")
    [task] = engine.list_tasks(instance_id=instance_id)
    assert (task.task_spec, task.name, task.role) == ("pre_check", "预审", "office")     # the new version runs
    office = as_person(walk, "office")
    office.goto(f"/tasks/{task.id}")
    office.get_by_role("button", name="认领").click()
    expect(office.get_by_label("材料齐全")).to_be_visible()                 # the form chosen in the panel
    keep(walk, "task-of-new-version")
    migrate_through_the_page(walk, old_id, instance_id)


def migrate_through_the_page(walk: Walk, old_id: int, new_id: int) -> None:
    """The instance started before the change cannot move (the intake it finished now leads elsewhere); after one
    more change further ahead (a task renamed) is deployed, the instance of the changed version moves to it."""
    engine = walk.server.engine
    page = as_person(walk, "owner")
    [v1, v2] = sorted(v.number for v in engine.process_versions("consultation"))        # the list is newest first
    page.goto(f"/studio/processes/consultation/migrate?from={v1}&to={v2}")
    blocked = page.locator("tr.blocked", has_text=f"#{old_id}")
    expect(blocked).to_have_count(1)
    expect(blocked).to_contain_text("不能迁移")
    expect(blocked).to_contain_text("「社情民意提交」(intake)已完成，新版本中其去向有改动")
    keep(walk, "migrate-blocked")

    page.goto("/studio/processes/consultation/edit")
    page.wait_for_function(f"{STUDIO} && {STUDIO}.ready")
    page.evaluate(f"{STUDIO}.ready")
    page.evaluate(f"""() => {{ const m = {STUDIO}.modeler;
        m.get('modeling').updateLabel(m.get('elementRegistry').get('triage'), '受理与分流'); }}""")
    page.locator("#studio-note").fill("改名：受理与分流")
    page.get_by_role("button", name="发布").click()
    expect(status(page)).to_contain_text("已发布为版本")
    v3 = max(v.number for v in engine.process_versions("consultation"))
    assert v3 == v2 + 1

    page.goto(f"/studio/processes/consultation/migrate?from={v2}&to={v3}")
    movable = page.locator("tr.movable", has_text=f"#{new_id}")
    expect(movable).to_have_count(1)
    expect(movable.get_by_role("checkbox")).to_be_checked()
    keep(walk, "migrate-preview")
    page.get_by_role("button", name=f"迁移所选事项到 v{v3}").click()
    expect(page.locator("tr.moved", has_text=f"#{new_id}")).to_have_count(1)
    keep(walk, "migrated")
    open_by_version = {v.number: v.open_instances for v in engine.process_versions("consultation")}
    assert (open_by_version[v1], open_by_version[v2], open_by_version[v3]) == (1, 0, 1)
    [task] = engine.list_tasks(instance_id=new_id)
    assert task.task_spec == "pre_check"                                   # it goes on where it was


@pytest.mark.parametrize("studio_walk", ["desktop"], indirect=True)
def test_a_save_after_someone_elses_save_says_so_and_keeps_the_edits(studio_walk):
    walk, engine = studio_walk, studio_walk.server.engine
    page = open_modeler(walk)
    page.evaluate(f"""() => {{ const m = {STUDIO}.modeler;
        m.get('modeling').updateLabel(m.get('elementRegistry').get('route'), '分层分流（改）'); }}""")
    draft = engine.draft("consultation")
    path = "consultation.bpmn"
    engine.save_draft_file("consultation", path, draft.files[path].replace("受理分流", "受理、分流"), "office",
                           draft.revision)
    page.get_by_role("button", name="保存").click()
    expect(status(page)).to_contain_text("已被他人修改")
    expect(status(page).get_by_role("button", name="重新载入")).to_be_visible()
    expect(status(page).get_by_role("link", name="下载我的修改")).to_be_visible()
    assert "分层分流（改）" in page.evaluate(f"{STUDIO}.xml()")                # nothing lost
    assert "受理、分流" in engine.draft("consultation").files[path]           # nothing overwritten
    keep(walk, "conflict")
    status(page).get_by_role("button", name="重新载入").click()
    expect(status(page)).to_contain_text("已打开草稿")
    expect(page.locator("#studio-revision")).to_have_text(str(engine.draft("consultation").revision))
    expect(page.locator("input[name='revision']")).to_have_value(str(engine.draft("consultation").revision))
    assert "受理、分流" in page.evaluate(f"{STUDIO}.xml()")
    engine.discard_draft("consultation", "owner")


@pytest.mark.parametrize("studio_walk", ["phone"], indirect=True)
def test_the_modeler_and_new_process_pages_fit_a_phone(studio_walk):
    walk = studio_walk
    page = open_modeler(walk)
    page.locator("#studio-canvas").scroll_into_view_if_needed()
    keep(walk, "modeler")
    page.goto("/studio/new")
    page.get_by_label("流程 id").fill("inspection")
    page.get_by_label("流程名称").fill("视察")
    keep(walk, "new-process")
    page.get_by_role("button", name="新建并打开设计器").click()
    page.wait_for_function(f"{STUDIO} && {STUDIO}.ready")
    page.evaluate(f"{STUDIO}.ready")
    assert page.evaluate(f"{STUDIO}.modeler.get('elementRegistry').get('start') !== undefined")
    keep(walk, "new-process-modeler")
    walk.server.engine.discard_draft("inspection", "owner")
    walk.server.engine.discard_draft("consultation", "owner")
