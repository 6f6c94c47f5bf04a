"""The form renderer: every consultation form renders, round-trips a person's input, shows errors beside fields."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel
from werkzeug.datastructures import FileStorage, MultiDict

from engine.bpmn.forms import field_errors
from tests.support.consultation import SCENARIOS
from tests.support.forms import dom, scrape
from webui.formrender import (
    UPLOAD_MAX_BYTES,
    FieldContext,
    UploadRejected,
    apply_row_action,
    field_id,
    parse_form,
    render_form,
    row_action,
)

FORMS = Path(__file__).resolve().parents[3] / "processes" / "consultation" / "forms"
NAMES = sorted(p.name.removesuffix(".schema.json") for p in FORMS.glob("*.schema.json"))
TASKS = [n for n in NAMES if n != "intake"]
PEOPLE = [("m001", "王委员"), ("m003", "李委员"), ("m014", "赵委员"), ("m020", "陈委员")]
CONTEXT = FieldContext(people={"researchers": PEOPLE, "attendees": PEOPLE})


def form(name: str) -> tuple[dict, dict]:
    """Schema and UI schema of a consultation form."""
    schema = json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))
    ui = json.loads((FORMS / f"{name}.ui.json").read_text(encoding="utf-8"))
    return schema, ui


def label_of(page, path: str) -> str:
    """The text that names a field: its legend (fieldsets, radio and checkbox groups) or its label."""
    element = page.get_element_by_id(field_id(path))
    if element.tag == "fieldset":
        return element.find("legend").text_content()
    group = element.xpath("ancestor::fieldset[contains(@class, 'group')][1]/legend")
    return (group or page.xpath(f'.//label[@for="{field_id(path)}"]'))[0].text_content()


def scenario_answers():
    """(task, data) for every form, along every branch the scenarios take (each task answered twice)."""
    seen, cases = set(), []
    for scenario in SCENARIOS.values():
        fresh = dataclasses.replace(scenario, counters={})
        answers = [("intake", fresh.intake())]
        for task in TASKS:
            context = {"tier": "township", "org_unit": "township_xunchang"}
            answers += [(task, fresh.answer(task, context)), (task, fresh.answer(task, context))]
        for task, data in answers:
            key = (task, json.dumps(data, sort_keys=True, ensure_ascii=False))
            if key not in seen:
                seen.add(key)
                cases.append(pytest.param(task, data, id=f"{task}-{len(cases)}"))
    return cases


def upload(name: str, content: bytes, field: str = "evidence") -> MultiDict:
    return MultiDict([(field, FileStorage(io.BytesIO(content), filename=name, name=field))])


def tiny_png() -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + \
        chunk(b"IEND", b"")


def office_zip(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<document/>")
    return buffer.getvalue()


SMALL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")


# --- rendering ---

@pytest.mark.parametrize("name", NAMES)
def test_every_consultation_form_renders_a_labelled_control_per_field(name):
    schema, ui = form(name)
    page = dom(render_form(schema, ui, {}, {}, CONTEXT))
    for prop_name, prop in schema["properties"].items():
        controls = page.xpath(f'.//*[@name="{prop_name}"]')
        assert controls, prop_name
        assert prop["title"] in label_of(page, prop_name)
    assert page.xpath('.//abbr[@class="req"]'), "required fields are marked"
    assert not page.xpath('.//*[contains(@class, "error-summary")]')


def test_intake_category_is_a_select_with_the_chinese_titles():
    schema, ui = form("intake")
    page = dom(render_form(schema, ui, {"category": "elderly"}, {}, CONTEXT))
    options = page.xpath('.//select[@name="category"]/option')
    assert [(o.get("value"), o.text) for o in options[:3]] == [("", "请选择"), ("infrastructure", "城乡建设"),
                                                              ("transport", "交通出行")]
    assert [o.text for o in options if o.get("selected") is not None] == ["养老服务"]


def test_radios_show_the_titles_and_booleans_travel_as_true_false():
    schema, ui = form("intake")
    page = dom(render_form(schema, ui, {"scope": "county"}, {}, CONTEXT))
    radios = page.xpath('.//input[@name="scope"]')
    assert [r.getparent().text_content() for r in radios] == ["本村（社区）", "本乡镇", "跨乡镇", "全县"]
    assert [r.get("value") for r in radios if r.get("checked") is not None] == ["county"]
    schema, ui = form("approve_topic")
    page = dom(render_form(schema, ui, {"topic_approved": False}, {}, CONTEXT))
    labels = {r.get("value"): r.getparent().text_content() for r in page.xpath('.//input[@name="topic_approved"]')}
    assert labels == {"true": "同意", "false": "不同意，退回修改"}
    assert page.xpath('.//input[@name="topic_approved"][@checked]')[0].get("value") == "false"


def test_long_text_gets_a_textarea_short_text_an_input_and_dates_a_date_box():
    schema, ui = form("intake")
    page = dom(render_form(schema, ui, {}, {}, CONTEXT))
    assert page.xpath('.//textarea[@name="description"]')[0].get("rows") == "6"
    assert page.xpath('.//input[@name="title"]')[0].get("type") == "text"
    assert "一句话概括" in page.xpath('.//input[@name="title"]')[0].get("placeholder")
    long_schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 500}}}
    assert dom(render_form(long_schema, None, {}, {}, CONTEXT)).xpath('.//textarea[@name="note"]')
    schema, ui = form("draft_plan")
    page = dom(render_form(schema, ui, {"meeting_date": "2026-04-15"}, {}, CONTEXT))
    date = page.xpath('.//input[@name="meeting_date"]')[0]
    assert (date.get("type"), date.get("value")) == ("date", "2026-04-15")


def test_numbers_get_a_number_box_with_limits_and_a_bad_number_stays_visible():
    schema, ui = form("research")
    box = dom(render_form(schema, ui, {"residents_consulted": 12}, {}, CONTEXT)).xpath(
        './/input[@name="residents_consulted"]')[0]
    assert (box.get("type"), box.get("step"), box.get("min"), box.get("max"), box.get("value")) == \
        ("number", "1", "0", "100000", "12")
    box = dom(render_form(schema, ui, {"residents_consulted": "十二"}, {}, CONTEXT)).xpath(
        './/input[@name="residents_consulted"]')[0]
    assert (box.get("type"), box.get("value")) == ("text", "十二")


def test_conditionally_required_fields_are_shown_and_marked():
    schema, ui = form("answer_suggestion")
    page = dom(render_form(schema, ui, {}, {}, CONTEXT))
    for name in ("reason", "measures", "promised_date"):
        label = page.xpath(f'.//label[@for="{field_id(name)}"]')[0]
        assert "条件必填" in label.text_content()
    assert "部分采纳、未采纳或不属于本单位职责时必填" in page.text_content()


def test_suggestions_are_numbered_rows_with_add_and_remove_buttons():
    schema, ui = form("hold_meeting")
    data = {"suggestions": [{"text": "增设路灯", "department": "dept_housing"}, {"text": "优化公交"}]}
    page = dom(render_form(schema, ui, data, {}, CONTEXT))
    rows = page.xpath('.//fieldset[@data-path="suggestions"]/fieldset[contains(@class, "row")]')
    assert [r.find("legend").text for r in rows] == ["意见建议 1", "意见建议 2"]
    assert [b.get("value") for b in page.xpath('.//button[@name="_remove"]')
            if b.get("value").startswith("suggestions/")] == ["suggestions/0", "suggestions/1"]
    add = page.xpath('.//button[@name="_add"][@value="suggestions"]')[0]
    assert (add.get("value"), add.get("type"), add.get("formnovalidate")) == ("suggestions", "submit", "")
    assert rows[1].xpath('.//textarea[@name="suggestions/1/text"]')[0].text == "\n优化公交"
    assert page.xpath('.//button[@class="form-default-submit"]'), "Enter submits instead of adding a row"
    empty = dom(render_form(schema, ui, {}, {}, CONTEXT))
    assert empty.xpath('.//textarea[@name="suggestions/0/text"]'), "a new form offers one empty row"


def test_people_are_offered_from_the_context_and_a_chosen_unknown_person_is_kept():
    schema, ui = form("hold_meeting")
    page = dom(render_form(schema, ui, {"attendees": ["m014", "gone_user"]}, {}, CONTEXT))
    boxes = page.xpath('.//input[@name="attendees"]')
    assert [(b.get("value"), b.getparent().text_content()) for b in boxes][:2] == [("m001", "王委员"),
                                                                                  ("m003", "李委员")]
    assert [b.get("value") for b in boxes if b.get("checked") is not None] == ["m014", "gone_user"]
    single = {"type": "object", "properties": {"lead": {"type": "string", "title": "负责人"}}}
    page = dom(render_form(single, {"lead": {"ui:widget": "people"}}, {"lead": "m003"}, {},
                           FieldContext(people={"lead": PEOPLE})))
    assert [o.text for o in page.xpath('.//select[@name="lead"]/option[@selected]')] == ["李委员"]


def test_ui_order_star_places_the_unlisted_fields():
    schema = {"type": "object", "properties": {k: {"type": "string", "title": k} for k in "abcd"}}
    page = dom(render_form(schema, {"ui:order": ["d", "*", "a"], "c": {"ui:widget": "hidden"}}, {"c": "x"}, {},
                           CONTEXT))
    assert [e.get("name") for e in page.iter("input")] == ["d", "b", "c", "a"]
    assert page.xpath('.//input[@name="c"]')[0].get("type") == "hidden"


# --- round trip: what is rendered comes back unchanged ---

@pytest.mark.parametrize(("task", "data"), scenario_answers())
def test_scenario_answers_round_trip_through_the_rendered_form(task, data):
    schema, ui = form(task)
    html = render_form(schema, ui, data, {}, CONTEXT)
    parsed = parse_form(schema, ui, scrape(html), MultiDict(), lambda path, file: pytest.fail("no upload"))
    assert parsed == data
    assert field_errors(schema, parsed) == {}


def test_parse_types_values_and_drops_empty_optional_fields():
    schema = {"type": "object", "properties": {
        "n": {"type": "integer"}, "x": {"type": "number"}, "ok": {"type": "boolean"}, "off": {"type": "boolean"},
        "d": {"type": "string", "format": "date"}, "note": {"type": "string"}, "text": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}}}}
    posted = MultiDict([("n", "１２"), ("x", "2.5"), ("ok", "true"), ("d", "2026/4/5"), ("note", "  "),
                        ("text", "第一行\r\n第二行\r\n"), ("tags", "c"), ("tags", "a"), ("csrf_token", "t")])
    assert parse_form(schema, None, posted, MultiDict(), None) == {
        "n": 12, "x": 2.5, "ok": True, "off": False, "d": "2026-04-05", "text": "第一行\n第二行", "tags": ["c", "a"]}
    kept = parse_form(schema, None, MultiDict([("n", "十二"), ("x", "inf"), ("d", "下周一")]), MultiDict(), None)
    assert (kept["n"], kept["x"], kept["d"]) == ("十二", "inf", "下周一")
    assert "类型不正确" in field_errors(schema, kept)["n"][0]


def test_fully_empty_rows_are_skipped_and_the_order_kept():
    schema, ui = form("hold_meeting")
    posted = MultiDict([("suggestions", "2"), ("suggestions", "0"), ("suggestions", "1"),
                        ("suggestions/0/text", "甲"), ("suggestions/0/department", "dept_drc"),
                        ("suggestions/1/text", ""), ("suggestions/1/department", ""),
                        ("suggestions/2/text", "丙"), ("suggestions/2/department", "")])
    assert parse_form(schema, ui, posted, MultiDict(), None)["suggestions"] == [
        {"text": "丙"}, {"text": "甲", "department": "dept_drc"}]


# --- errors ---

def test_engine_errors_appear_under_their_fields_and_in_the_summary():
    schema, ui = form("intake")
    data = {"title": "短", "scope": "village", "contact_phone": "123", "source": "online"}
    errors = field_errors(schema, data)
    assert {"title", "description", "category", "township", "contact_phone"} <= set(errors)
    page = dom(render_form(schema, ui, data, errors, CONTEXT))
    for path, messages in errors.items():
        box = page.get_element_by_id(f"{field_id(path)}-error")
        assert "field-error" in box.get("class")
        assert [p.text for p in box] == messages
        assert box.getparent().get("class").startswith("field has-error")
    title = page.get_element_by_id(field_id("title"))
    assert title.get("aria-invalid") == "true"
    assert f"{field_id('title')}-error" in title.get("aria-describedby").split()
    assert title.get("value") == "短", "what was typed is shown again"
    links = page.xpath('.//div[@id="error-summary"]//a')
    assert len(links) == sum(map(len, errors.values()))
    assert links[0].get("href") == "#f-title" and links[0].text.startswith("标题：")
    for link in links:
        assert page.get_element_by_id(link.get("href")[1:]) is not None


def test_row_and_list_item_errors_land_beside_the_row_field_and_the_list():
    schema, ui = form("hold_meeting")
    data = {"attendees": ["m001", "m001"], "suggestions": [{"text": "甲乙丙丁"}, {"text": "x"}]}
    errors = field_errors(schema, data) | {"(form)": ["提交已过期，请重试"]}
    html = render_form(schema, ui, data, errors, CONTEXT)
    page = dom(html)
    assert page.get_element_by_id("f-suggestions--0--department-error").text_content().startswith("此项为必填项")
    assert page.get_element_by_id("f-suggestions--1--text-error").text_content().startswith("至少需要 4 个字")
    assert "不能有重复项" in page.get_element_by_id("f-attendees-error").text_content()
    summary = page.get_element_by_id("error-summary")
    assert summary.xpath(".//li")[0].text == "提交已过期，请重试"
    assert summary.xpath('.//a[@href="#f-suggestions--0--department"]')


def test_user_text_in_data_errors_and_names_is_escaped():
    schema, ui = form("intake")
    evil = '<script>alert("x")</script>'
    data = {"title": evil, "description": f"</textarea>{evil}", "category": '"><img src=x onerror=alert(1)>'}
    html = str(render_form(schema, ui, data, {"title": [f"坏了 {evil}"], evil: ["<b>未知字段</b>"]}, CONTEXT))
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    page = dom(html)
    assert page.get_element_by_id("f-title").get("value") == evil
    assert page.get_element_by_id("f-title-error").text_content() == f"坏了 {evil}"
    posted = scrape(html)
    assert (posted["title"], posted["description"]) == (evil, f"</textarea>{evil}")
    people = FieldContext(people={"attendees": [("m001", evil)]})
    assert "<script" not in str(render_form(*form("hold_meeting"), {"attendees": [evil]}, {}, people))


# --- uploads ---

def test_uploads_are_checked_before_they_are_stored():
    schema, ui = form("follow_up_visit")
    stored = []

    def store(path, file):
        stored.append((path, file.filename, file.read()))
        return "uploads/7/回访.pdf"

    posted = MultiDict([("implementation_status", "全部完成"), ("residents_satisfaction", "satisfied")])
    data = parse_form(schema, ui, posted, upload("回访.pdf", SMALL_PDF), store)
    assert data["evidence"] == "uploads/7/回访.pdf"
    assert stored == [("evidence", "回访.pdf", SMALL_PDF)]
    png = parse_form(schema, ui, posted, upload("photo.PNG", tiny_png()), lambda p, f: "ref-png")
    assert png["evidence"] == "ref-png"
    assert parse_form(schema, ui, posted, upload("a.docx", office_zip("word/")), lambda p, f: "ref")["evidence"]


@pytest.mark.parametrize(("name", "content", "words"), [
    ("big.pdf", b"%PDF-" + b"0" * UPLOAD_MAX_BYTES, "10 MB"),
    ("tool.exe", b"MZ\x90\x00", "只能上传 PDF"),
    ("fake.pdf", tiny_png(), "与扩展名 .pdf 不符"),
    ("fake.docx", office_zip("xl/"), "与扩展名 .docx 不符"),
    ("fake.xlsx", b"PK\x03\x04 not really a zip", "与扩展名 .xlsx 不符"),
    ("empty.jpg", b"", "是空的"),
])
def test_bad_uploads_are_refused_and_the_rest_of_the_form_kept(name, content, words):
    schema, ui = form("research")
    posted = MultiDict([("findings", "调研发现很多问题"), ("residents_consulted", "12")])
    with pytest.raises(UploadRejected) as caught:
        parse_form(schema, ui, posted, upload(name, content), lambda p, f: pytest.fail("must not be stored"))
    assert caught.value.path == "evidence" and words in caught.value.message
    assert caught.value.data == {"findings": "调研发现很多问题", "residents_consulted": 12}
    page = dom(render_form(schema, ui, caught.value.data, caught.value.errors, CONTEXT))
    assert words in page.get_element_by_id("f-evidence-error").text_content()


def test_an_earlier_upload_is_shown_and_kept_when_no_new_file_is_chosen():
    schema, ui = form("research")
    html = render_form(schema, ui, {}, {}, FieldContext(files={"evidence": "uploads/3/座谈记录.pdf"}))
    page = dom(html)
    assert "已上传：座谈记录.pdf" in page.xpath('.//p[@class="uploaded"]')[0].text
    assert page.xpath('.//input[@type="file"][@name="evidence"]')[0].get("accept").startswith(".doc")
    empty_file = MultiDict([("evidence", FileStorage(io.BytesIO(b""), filename="", name="evidence"))])
    assert parse_form(schema, ui, scrape(html), empty_file, None)["evidence"] == "uploads/3/座谈记录.pdf"


# --- rows without JavaScript ---

def test_add_and_remove_row_keep_every_other_row_as_typed():
    schema, ui = form("hold_meeting")
    data = {"minutes": "会议纪要……", "suggestions": [{"text": "甲建议", "department": "dept_drc"}, {"text": "乙建议"},
                                                  {"text": "丙建议", "department": "dept_water"}]}
    posted = scrape(render_form(schema, ui, data, {}, CONTEXT))
    posted.add("_remove", "suggestions/1")
    action = row_action(posted)
    assert action == ("remove", "suggestions/1")
    after = apply_row_action(schema, parse_form(schema, ui, posted, MultiDict(), None), action)
    assert after["suggestions"] == [data["suggestions"][0], data["suggestions"][2]] and after["minutes"] == "会议纪要……"
    posted = scrape(render_form(schema, ui, after, {}, CONTEXT))
    posted.add("_add", "suggestions")
    added = apply_row_action(schema, parse_form(schema, ui, posted, MultiDict(), None), row_action(posted))
    assert added["suggestions"] == [data["suggestions"][0], data["suggestions"][2], {}]
    posted = scrape(render_form(schema, ui, added, {}, CONTEXT))
    posted.add("_add", "suggestions")
    twice = apply_row_action(schema, parse_form(schema, ui, posted, MultiDict(), None), row_action(posted))
    assert twice["suggestions"][2:] == [{}, {}], "empty rows stay while rows are being added"
    assert data["suggestions"][1] == {"text": "乙建议"}, "the caller's data is not changed"


def test_removing_a_row_after_an_empty_row_removes_the_row_that_was_pressed():
    schema, ui = form("hold_meeting")
    data = {"suggestions": [{}, {"text": "甲建议"}, {"text": "乙建议"}]}
    posted = scrape(render_form(schema, ui, data, {}, CONTEXT))
    posted.add("_remove", "suggestions/1")
    after = apply_row_action(schema, parse_form(schema, ui, posted, MultiDict(), None), row_action(posted))
    assert after["suggestions"] == [{}, {"text": "乙建议"}]


def test_row_actions_respect_limits_and_ignore_forged_targets():
    schema, _ui = form("hold_meeting")
    full = {"suggestions": [{"text": str(i)} for i in range(50)]}
    assert apply_row_action(schema, full, ("add", "suggestions")) == full
    add = dom(render_form(schema, None, full, {}, CONTEXT)).xpath('.//button[@name="_add"][@value="suggestions"]')[0]
    assert add.get("disabled") is not None
    data = {"minutes": "x", "suggestions": [{"text": "甲"}]}
    for action in [("add", "minutes"), ("remove", "suggestions/x"), ("remove", "suggestions/9"), ("drop", "x"),
                   ("add", "nothing/0/deeper"), None]:
        assert apply_row_action(schema, data, action) == data
    assert apply_row_action(schema, {}, ("add", "suggestions")) == {"suggestions": [{}]}
    assert row_action(MultiDict([("title", "x")])) is None


# --- language ---

def test_the_renderers_own_words_are_translated_to_english():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).resolve().parents[3] / "webui" / "translations"
                                                      / "forms")
    Babel(app, locale_selector=lambda: "en")
    schema, ui = form("hold_meeting")
    with app.test_request_context():
        html = str(render_form(schema, ui, {}, {"minutes": ["太短"]}, CONTEXT))
        with pytest.raises(UploadRejected) as caught:
            parse_form(*form("research"), MultiDict(), upload("x.exe", b"MZ"), None)
    assert "Please fix the following 1 problem" in html
    assert ">Please choose<" in html and "Remove" in html and "Add 意见建议" in html
    assert caught.value.message.startswith("This kind of file is not accepted")


def test_every_word_the_renderer_says_has_an_english_translation():
    root = Path(__file__).resolve().parents[3] / "webui"
    source = (root / "formrender.py").read_text(encoding="utf-8") + (root / "formparse.py").read_text(encoding="utf-8")
    said = set(re.findall(r'gettext\(\s*"([^"]+)"', source))
    with (root / "translations" / "forms" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    assert said and all(catalog.get(msgid) and catalog.get(msgid).string for msgid in said)
