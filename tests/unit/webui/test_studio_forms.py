"""The studio's form editor: a form read as a field list and written back unchanged, a field list written into JSON
Schema + UI schema, every input bounded with a named problem, the live preview drawn by the participants' renderer,
saves against the draft's revision, and only process owners and admins in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.webui.conftest import csrf_of
from webui.formcheck import form_problems, parse_texts
from webui.formdesign import (
    MAX_FIELDS,
    MAX_OPTIONS,
    FormRefused,
    build,
    field_problems,
    fields_of,
)
from webui.formrender import FieldContext, render_form

FORMS = Path(__file__).resolve().parents[3] / "processes" / "consultation" / "forms"
NAMES = sorted(p.name.removesuffix(".schema.json") for p in FORMS.glob("*.schema.json"))


def _form(name: str) -> tuple[dict, dict]:
    return (json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8")),
            json.loads((FORMS / f"{name}.ui.json").read_text(encoding="utf-8")))


def _field(key, title, kind, **more) -> dict:
    return {"key": key, "title": title, "kind": kind, "required": False, "help": "", "placeholder": "",
            "options": [], "role": "", "multiple": False, "unit_kinds": [], **more}


THREE = [_field("place", "走访地点", "text", required=True, help="写明村（社区）名称"),
         _field("visited_on", "走访日期", "date"),
         _field("mood", "群众满意度", "radio", options=[{"value": "good", "label": "满意"},
                                                   {"value": "", "label": "不满意"}])]


# --- schema <-> field list --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_consultation_form_reads_as_fields_and_writes_back_unchanged(name):
    schema, ui = _form(name)
    fields = fields_of(schema, ui)
    assert [f["key"] for f in fields] and all(f["kind"] for f in fields)
    again, again_ui = build(fields, schema, ui)
    assert again == schema                      # conditions, limits, date rules all kept
    assert {k: v for k, v in again_ui.items() if k != "ui:order"} == {k: v for k, v in ui.items() if k != "ui:order"}
    assert render_form(again, again_ui, {}, {}, FieldContext()) == render_form(schema, ui, {}, {}, FieldContext())


def test_the_field_kinds_of_known_forms():
    kinds = {f["key"]: f["kind"] for f in fields_of(*_form("draft_plan"))}
    assert kinds == {"plan_goal": "textarea", "meeting_date": "date", "venue": "advanced", "venue_other": "text",
                     "participants_note": "textarea", "researchers": "people", "research_questions": "textarea"}
    researchers = next(f for f in fields_of(*_form("draft_plan")) if f["key"] == "researchers")
    assert researchers["multiple"] and researchers["role"] == "member"
    topic = next(f for f in fields_of(*_form("approve_topic")) if f["key"] == "topic_approved")
    assert topic["kind"] == "yesno" and [o["value"] for o in topic["options"]] == ["true", "false"]


def test_a_field_list_writes_schema_and_ui():
    schema, ui = build(THREE, {"title": "走访记录", "type": "object", "properties": {}}, {})
    assert schema["required"] == ["place"] and schema["title"] == "走访记录"
    assert schema["properties"]["place"] == {"title": "走访地点", "type": "string", "maxLength": 200}
    assert schema["properties"]["visited_on"] == {"title": "走访日期", "type": "string", "format": "date"}
    assert schema["properties"]["mood"]["oneOf"] == [{"const": "good", "title": "满意"},
                                                     {"const": "不满意", "title": "不满意"}]
    assert ui == {"place": {"ui:help": "写明村（社区）名称"}, "visited_on": {"ui:widget": "date"},
                  "mood": {"ui:widget": "radio"}, "ui:order": ["place", "visited_on", "mood"]}
    assert not form_problems(schema, ui)


def test_changing_a_kind_drops_what_the_old_kind_said_but_keeps_the_audience():
    base = {"type": "object", "properties": {"phone": {"type": "string", "title": "电话", "maxLength": 30}}}
    ui = {"phone": {"ui:audience": ["office"], "ui:placeholder": "手机"}}
    schema, new_ui = build([_field("phone", "人数", "integer")], base, ui)
    assert schema["properties"]["phone"] == {"title": "人数", "type": "integer"}
    assert new_ui["phone"] == {"ui:audience": ["office"]}


def test_a_renamed_field_keeps_what_the_list_does_not_show():
    schema, ui = _form("answer_suggestion")
    fields = fields_of(schema, ui)
    fields[3]["key"] = "promise_date"                 # was promised_date: x-notBefore? limits, help all stay
    fields.insert(0, fields.pop(3))
    new_schema, new_ui = build(fields, schema, ui)
    assert new_schema["properties"]["promise_date"] == schema["properties"]["promised_date"]
    assert new_ui["promise_date"] == ui["promised_date"] and "promised_date" not in new_ui
    assert list(new_schema["properties"]) == ["promise_date", "adoption", "reason", "measures"]
    assert new_ui["ui:order"] == ["promise_date", "adoption", "reason", "measures"]


def test_a_schema_over_the_size_limit_is_named_with_its_size():
    big = json.dumps({"type": "object", "description": "很" * 100_000})
    with pytest.raises(FormRefused) as refused:
        parse_texts(big, "{}")
    assert "字节，上限为 262144 字节" in refused.value.problems[0].message


def test_a_date_field_carries_its_date_rule():
    meeting = next(f for f in fields_of(*_form("draft_plan")) if f["key"] == "meeting_date")
    assert meeting["date_rule"] == "notBefore"
    schema, _ui = build([{**meeting, "date_rule": "notAfter"}], *_form("draft_plan"))
    assert schema["properties"]["meeting_date"]["x-notAfter"] == "today"
    assert "x-notBefore" not in schema["properties"]["meeting_date"]
    assert field_problems([{**meeting, "date_rule": "tomorrow"}])[0].message == "未知的日期规则"


def test_people_and_units_and_checkboxes():
    fields = [_field("who", "参加委员", "people", multiple=True, role="member"),
              _field("unit", "承办单位", "orgunit", unit_kinds=["department"]),
              _field("topics", "涉及领域", "checkboxes", options=[{"value": "a", "label": "交通"},
                                                               {"value": "b", "label": "教育"}])]
    schema, ui = build(fields, {}, {})
    assert schema["properties"]["who"]["type"] == "array" and ui["who"] == {"ui:widget": "people",
                                                                           "ui:options": {"role": "member"}}
    assert ui["unit"] == {"ui:widget": "orgunit", "ui:options": {"kinds": ["department"]}}
    assert schema["properties"]["topics"]["maxItems"] == 2
    assert [f["kind"] for f in fields_of(schema, ui)] == ["people", "orgunit", "checkboxes"]


@pytest.mark.parametrize(("fields", "where", "words"), [
    ([_field("a", "甲", "text"), _field("a", "乙", "text")], "$.properties.a", "重复"),
    ([_field("1a", "甲", "text")], '$.properties["1a"]', "字段名须以字母或下划线开头"),
    ([_field("a", "", "text")], "$.properties.a.title", "请填写字段标题"),
    ([_field("a", "甲", "select")], "$.properties.a.oneOf", "请至少添加一个选项"),
    ([_field("a", "甲", "select", options=[{"value": "x", "label": "X"}, {"value": "x", "label": "Y"}])],
     "$.properties.a.oneOf[1]", "选项“x”重复"),
    ([_field("a", "甲", "radio", options=[{"value": str(n), "label": ""} for n in range(MAX_OPTIONS + 1)])],
     "$.properties.a.oneOf", f"最多 {MAX_OPTIONS} 个选项"),
    ([_field(f"f{n}", "甲", "text") for n in range(MAX_FIELDS + 1)], "$.properties", f"最多 {MAX_FIELDS} 个字段"),
    ([_field("a", "甲" * 101, "text")], "$.properties.a.title", "最多 100 个字"),
])
def test_field_list_problems_are_named_with_their_json_path(fields, where, words):
    problems = field_problems(fields)
    assert problems and problems[0].where == where and words in problems[0].message, problems
    with pytest.raises(FormRefused):
        build(fields, {}, {})


@pytest.mark.parametrize(("schema_text", "ui_text", "where", "words"), [
    ('{"type": "object",\n "properties": {"a": }}', "{}", "$", "第 2 行第 22 列：JSON 格式错误"),
    ('{"type": "object", "properties": {"age": {"type": "numbr"}}}', "{}", "$.properties.age.type",
     "不是有效的类型"),
    ('{"type": "object", "properties": {"age": {"title": 3}}}', "{}", "$.properties.age.title", "这里应为文字"),
    ('{"type": "object", "properties": {"a": {"$ref": "http://x/y"}}}', "{}", "$.properties.a", "引擎不接受的写法"),
    ('{"type": "object", "properties": {"a": {"type": "string"}}}', '{"a": {"ui:widget": "slider"}}',
     '$.a["ui:widget"]', "未知的控件“slider”"),
    ('{"type": "object", "properties": {"a": {"type": "string"}}}', '{"a": {"ui:options": []}}',
     '$.a["ui:options"]', "ui:options 应为对象"),
    ('[1]', "{}", "$", "必须是一个 JSON 对象"),
])
def test_bad_forms_are_named_in_chinese_with_their_json_path(schema_text, ui_text, where, words):
    try:
        schema, ui = parse_texts(schema_text, ui_text)
    except FormRefused as exc:
        problems = exc.problems
    else:
        problems = form_problems(schema, ui)
    assert problems and problems[0].where == where and words in problems[0].message, problems


@pytest.mark.parametrize("name", NAMES)
def test_every_consultation_form_opens_without_a_problem(name):
    assert form_problems(*_form(name)) == []


# --- the pages ----------------------------------------------------------------------------------------------------
def _preview(client, page, body, name="answer_suggestion"):
    return client.post(f"/studio/processes/consultation/forms/{name}/preview", json=body,
                       headers={"X-CSRF-Token": csrf_of(page)})


def test_the_forms_list_names_each_form_and_the_tasks_using_it(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/forms").get_data(as_text=True)
    assert "办理答复" in page and "forms/answer_suggestion.schema.json" in page
    assert "/studio/processes/consultation/forms/answer_suggestion" in page
    assert "answer_suggestion</code>" in page or "answer_suggestion" in page
    row = page[page.index("forms/triage.schema.json"):]
    assert "triage</code>" in row[:600]          # the user task using it, by id


def test_the_editor_opens_with_the_server_rendered_preview(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/forms/answer_suggestion").get_data(as_text=True)
    assert 'id="form-editor-data"' in page and "js/form-editor" in page
    preview = page[page.index('id="fe-preview"'):]
    assert "办理结果" in preview and "不属于本单位职责" in preview and 'type="date"' in preview
    data = json.loads(page.split('id="form-editor-data">', 1)[1].split("</script>", 1)[0])
    assert [f["key"] for f in data["fields"]] == ["adoption", "reason", "measures", "promised_date"]
    assert isinstance(data["revision"], int)


def test_the_preview_draws_the_fields_a_participant_would_see(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/forms/answer_suggestion").get_data(as_text=True)
    answer = _preview(client, page, {"mode": "fields", "fields": THREE, "schema_text": '{"title": "走访记录"}',
                                     "ui_text": "{}"}).get_json()
    assert answer["ok"], answer
    html = answer["html"]
    assert "走访记录" in html and "走访地点" in html and "写明村（社区）名称" in html and 'type="date"' in html
    assert 'value="good"' in html and "满意" in html and "不满意" in html
    assert json.loads(answer["schema_text"])["required"] == ["place"]
    assert [f["key"] for f in answer["fields"]] == ["place", "visited_on", "mood"]


def test_the_preview_of_raw_json_returns_the_field_list_and_a_bad_schema_its_problem(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/forms/answer_suggestion").get_data(as_text=True)
    good = _preview(client, page, {"mode": "json", "ui_text": "{}", "schema_text": json.dumps(
        {"type": "object", "properties": {"n": {"type": "integer", "title": "人数"}}})}).get_json()
    assert good["ok"] and good["fields"][0]["kind"] == "integer" and "人数" in good["html"]
    bad = _preview(client, page, {"mode": "json", "ui_text": "{}", "schema_text": json.dumps(
        {"type": "object", "properties": {"n": {"type": "integr"}}})}).get_json()
    assert not bad["ok"] and "html" not in bad
    assert bad["problems"][0]["where"] == "$.properties.n.type" and "不是有效的类型" in bad["problems"][0]["message"]


def test_save_writes_both_files_and_a_stale_revision_is_refused(client, login, web_engine):
    login("owner")
    page = client.get("/studio/processes/consultation/forms/answer_suggestion").get_data(as_text=True)
    revision = web_engine.existing_draft("consultation").revision
    schema, ui = build(THREE, {"title": "走访记录"}, {})
    url, headers = "/studio/processes/consultation/forms/answer_suggestion/save", {"X-CSRF-Token": csrf_of(page)}
    body = {"schema_text": json.dumps(schema), "ui_text": json.dumps(ui), "revision": revision}
    answer = client.post(url, json=body, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["revision"] == revision + 1
    files = web_engine.existing_draft("consultation").files
    assert json.loads(files["forms/answer_suggestion.schema.json"]) == schema
    assert json.loads(files["forms/answer_suggestion.ui.json"]) == ui
    stale = client.post(url, json={**body, "ui_text": "{}"}, headers=headers)
    assert stale.status_code == 409 and "已被他人修改" in stale.get_json()["message"]
    assert json.loads(web_engine.existing_draft("consultation").files["forms/answer_suggestion.schema.json"]) == schema
    broken = client.post(url, json={**body, "revision": revision + 1, "schema_text": '{"type": 5}'}, headers=headers)
    assert broken.status_code == 422 and broken.get_json()["problems"][0]["where"] == "$.type"


def test_a_new_form_is_created_in_the_draft_and_opens(client, login, web_engine):
    login("owner")
    page = client.get("/studio/processes/consultation/forms").get_data(as_text=True)
    revision = web_engine.existing_draft("consultation").revision
    form = {"csrf_token": csrf_of(page), "revision": revision}
    refused = client.post("/studio/processes/consultation/forms", data={**form, "name": "../x", "title": "走访"})
    assert refused.status_code == 422 and "表单名只能用字母" in refused.get_data(as_text=True)
    made = client.post("/studio/processes/consultation/forms", data={**form, "name": "visit", "title": "走访记录"})
    assert made.status_code == 302 and made.location.endswith("/studio/processes/consultation/forms/visit")
    files = web_engine.existing_draft("consultation").files
    assert json.loads(files["forms/visit.schema.json"])["title"] == "走访记录" and "forms/visit.ui.json" in files
    assert "走访记录" in client.get(made.location).get_data(as_text=True)
    taken = client.post("/studio/processes/consultation/forms",
                        data={**form, "revision": revision + 1, "name": "visit", "title": "走访"})
    assert taken.status_code == 422 and "已有名为“visit”的表单" in taken.get_data(as_text=True)


def test_only_process_owners_and_admins_reach_the_form_editor(client, login):
    for who in ("m001", "office", "supervisor_county"):
        login(who)
        for url in ("/studio/processes/consultation/forms", "/studio/processes/consultation/forms/triage"):
            assert client.get(url).status_code == 403, (who, url)
        page = client.get("/inbox").get_data(as_text=True)
        answer = client.post("/studio/processes/consultation/forms/triage/preview", json={"mode": "json"},
                             headers={"X-CSRF-Token": csrf_of(page)})
        assert answer.status_code == 403, who


def test_admins_reach_it_and_an_unknown_form_is_404(client, login):
    login("admin")
    assert client.get("/studio/processes/consultation/forms").status_code == 200
    assert client.get("/studio/processes/consultation/forms/nothing").status_code == 404
    assert client.get("/studio/processes/nothing/forms").status_code == 404


def test_the_editor_speaks_english_when_english_is_chosen(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/forms/answer_suggestion?lang=en").get_data(as_text=True)
    assert "Preview (as participants see it)" in page and "Save to draft" in page
    assert "Field name (key in the data)" in page
    assert "Long text" in page and "People picker" in page
    tables = client.get("/studio/processes/consultation/decisions?lang=en").get_data(as_text=True)
    assert "7 rules, 2 input columns, 2 output columns, hit policy FIRST" in tables


UNREADABLE = [({"a": {"ui:widget": "people", "ui:options": {"role": ["x"]}}}, '$.a["ui:options"].role'),
              ({"a": {"ui:widget": "orgunit", "ui:options": {"kind": ["hall"]}}}, '$.a["ui:options"].kind'),
              ({"a": {"ui:widget": "orgunit", "ui:options": {"kinds": "department"}}}, '$.a["ui:options"].kinds'),
              ({"a": {"b": "x"}}, "$.a.b")]


def test_ui_settings_the_pickers_cannot_read_are_named_not_a_server_error(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/forms/triage").get_data(as_text=True)
    schema = json.dumps({"type": "object", "properties": {"a": {"type": "string"}}})
    for ui, where in UNREADABLE:
        answer = _preview(client, page, {"mode": "json", "schema_text": schema, "ui_text": json.dumps(ui)},
                          name="triage")
        assert answer.status_code == 200 and not answer.get_json()["ok"], ui
        assert where in [p["where"] for p in answer.get_json()["problems"]], ui
