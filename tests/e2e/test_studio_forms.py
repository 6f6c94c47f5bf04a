"""The studio's form editor and decision tables in Chromium: a process owner builds a form of three fields and sees
the live preview follow, saves and reopens it; opens deadlines.dmn and routing.dmn in dmn-js, changes one cell and
saves, and the draft's XML changed exactly there. Screenshots go to test-output/e2e/<device>/ and the notes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import expect

from tests.conftest import CONSULTATION
from tests.e2e.conftest import shots
from tests.e2e.test_content_security_policy import no_violations, watch
from tests.e2e.test_walkthrough import as_person

SHOTS = shots("forms")


def keep(walk, path: Path) -> None:
    """Copy a screenshot to the notes folder (when it exists on this machine), named by device."""
    if SHOTS.parent.parent.is_dir():
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / f"{walk.device}-{path.name}")


@pytest.fixture
def fresh_draft(walk):
    """No draft of the consultation before or after the test (the live server is shared by the session)."""
    engine = walk.server.engine
    if engine.existing_draft("consultation") is not None:
        engine.discard_draft("consultation", "owner")
    yield engine
    if engine.existing_draft("consultation") is not None:
        engine.discard_draft("consultation", "owner")


def _fill_field(row, title: str, key: str, kind: str) -> None:
    row.locator("[data-k=title]").fill(title)
    row.locator("[data-k=key]").fill(key)
    row.locator("[data-k=kind]").select_option(kind)


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_a_process_owner_builds_a_form_with_a_live_preview_saves_and_reopens_it(walk, fresh_draft):
    page = as_person(walk, "owner")
    console = watch(page)
    name = f"visit_{walk.device}"
    page.goto("/studio/processes/consultation/forms")
    expect(page.locator("table.sf-forms")).to_contain_text("办理答复")
    keep(walk, walk.shot("studio-forms-list"))
    page.fill("#sf-name", name)
    page.fill("#sf-title", "入户走访记录")
    page.get_by_role("button", name="新建并编辑").click()
    expect(page.locator("h1")).to_have_text("入户走访记录")
    rows = page.locator("#fe-fields > li")
    expect(rows).to_have_count(1)
    preview = page.locator("#fe-preview")
    expect(preview).to_contain_text("意见")

    rows.first.get_by_role("button", name="删除").click()
    page.get_by_role("button", name="＋ 添加字段").click()
    _fill_field(rows.nth(0), "走访地点", "place", "text")
    rows.nth(0).locator("[data-k=required]").check()
    rows.nth(0).locator("[data-k=help]").fill("写明村（社区）和门牌号")
    page.get_by_role("button", name="＋ 添加字段").click()
    _fill_field(rows.nth(1), "走访日期", "visited_on", "date")
    rows.nth(1).locator("[data-k=date_rule]").select_option("notAfter")     # a visit lies in the past
    page.get_by_role("button", name="＋ 添加字段").click()
    _fill_field(rows.nth(2), "群众满意度", "mood", "radio")
    options = rows.nth(2).locator(".fe-option")
    options.nth(0).locator("[data-o=label]").fill("满意")
    rows.nth(2).get_by_role("button", name="＋ 添加选项").click()
    options.nth(1).locator("[data-o=label]").fill("不满意")

    expect(preview.locator("label[for='f-place']")).to_contain_text("走访地点")      # the renderer's own markup
    expect(preview).to_contain_text("写明村（社区）和门牌号")
    expect(preview.locator("input[type=date][name=visited_on]")).to_have_count(1)
    expect(preview.locator("input[type=radio][name=mood]")).to_have_count(3)     # 满意, 不满意, and 不填 (optional)
    expect(preview).to_contain_text("不满意")
    expect(preview).not_to_contain_text("意见")
    assert '"visited_on"' in page.locator("#fe-schema").input_value()
    page.evaluate("window.scrollTo(0, 0)")          # the preview column sticks to the top of the window
    keep(walk, walk.shot("form-editor-three-fields"))

    rows.nth(1).locator("[data-k=key]").fill("1bad")              # a bad key: named, the last good preview kept
    expect(page.locator("#fe-problems")).to_be_visible()
    expect(page.locator("#fe-problems")).to_contain_text("字段名须以字母或下划线开头")
    expect(preview.locator("input[type=date][name=visited_on]")).to_have_count(1)
    rows.nth(1).locator("[data-k=key]").fill("visited_on")
    expect(page.locator("#fe-problems")).to_be_hidden()

    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator("#fe-status")).to_contain_text("已保存到草稿")
    files = fresh_draft.existing_draft("consultation").files
    assert '"mood"' in files[f"forms/{name}.schema.json"] and '"ui:order"' in files[f"forms/{name}.ui.json"]
    assert '"x-notAfter": "today"' in files[f"forms/{name}.schema.json"]
    no_violations(page, console)

    page.reload()
    expect(rows).to_have_count(3)
    assert [rows.nth(i).locator("[data-k=title]").input_value() for i in range(3)] == ["走访地点", "走访日期",
                                                                                       "群众满意度"]
    assert rows.nth(2).locator("[data-k=kind]").input_value() == "radio"
    expect(preview).to_contain_text("不满意")
    keep(walk, walk.shot("form-editor-reopened"))

    fresh_draft.save_draft_file("consultation", "forms/other.ui.json", "{}", "owner2", None)   # someone else saves
    rows.nth(0).locator("[data-k=title]").fill("走访地址")
    expect(preview).to_contain_text("走访地址")
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator("#fe-status")).to_contain_text("已被他人修改")
    assert rows.nth(0).locator("[data-k=title]").input_value() == "走访地址"        # nothing lost
    assert '"走访地点"' in fresh_draft.existing_draft("consultation").files[f"forms/{name}.schema.json"]


def _cells(xml: str) -> dict[str, str]:
    """Every element with an id in a DMN file, as id → its own text and attributes (children apart)."""
    root = etree.fromstring(xml.encode())
    out = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        text = node.findtext("{*}text")
        out[node.get("id")] = f"{etree.QName(node).localname} {sorted(node.attrib.items())} {text!r}"
    return out


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_deadlines_opens_in_dmn_js_and_one_changed_cell_is_all_that_changes(walk, fresh_draft):
    page = as_person(walk, "owner")
    console = watch(page)
    page.goto("/studio/processes/consultation/decisions")
    expect(page.locator("table.dt-files")).to_contain_text("办理时限")
    expect(page.locator("table.dt-files")).to_contain_text("分层分流")
    keep(walk, walk.shot("decisions-list"))
    before = (CONSULTATION / "deadlines.dmn").read_text(encoding="utf-8")
    page.get_by_role("link", name="办理时限").first.click()
    expect(page.locator("#decision-editor")).to_have_attribute("data-ready", "true")
    cell = page.locator("td[data-row-id='deadlines_rule_2'][data-col-id='output_duration']")
    expect(cell).to_contain_text('"P10D"')
    expect(page.locator("#dt-canvas")).to_contain_text("命中策略")               # dmn-js in Chinese
    keep(walk, walk.shot("deadlines-table"))
    cell.locator("[contenteditable]").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"P12D"')
    page.locator("h1").click()
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator("#dt-status")).to_contain_text("引擎检查通过")
    after = fresh_draft.existing_draft("consultation").files["deadlines.dmn"]
    old, new = _cells(before), _cells(after)
    changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    assert changed == {"deadlines_rule_2_out_1"}, changed
    assert "'\"P12D\"'" in new["deadlines_rule_2_out_1"]
    keep(walk, walk.shot("deadlines-saved"))
    expect(page.locator("#dt-canvas .view-drd")).to_be_hidden()
    logo = page.locator("#dt-canvas .bjs-powered-by")          # the license's logo: visible, placed by our CSS
    expect(logo).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('#dt-canvas .bjs-powered-by')).position") \
        == "absolute"
    no_violations(page, console)       # the editors' policy allows dmn-js's inline styles, never scripts



@pytest.mark.parametrize("walk", ["desktop"], indirect=True)
def test_routing_saves_back_with_every_rule_and_a_broken_cell_is_named(walk, fresh_draft):
    page = as_person(walk, "owner")
    page.goto("/studio/processes/consultation/decisions/routing.dmn")
    expect(page.locator("#decision-editor")).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator("#dt-status")).to_contain_text("引擎检查通过")
    before = _cells((CONSULTATION / "routing.dmn").read_text(encoding="utf-8"))
    assert _cells(fresh_draft.existing_draft("consultation").files["routing.dmn"]) == before

    cell = page.locator("td[data-row-id='routing_rule_1'][data-col-id='output_tier']")
    cell.locator("[contenteditable]").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"county" +')                   # (the cell editor closes the quote) half a sum: unreadable
    page.locator("h1").click()
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator("#dt-status")).to_contain_text("引擎无法使用此决策表")
    expect(page.locator("#dt-problems")).to_contain_text("routing.dmn")
    keep(walk, walk.shot("routing-problem"))
