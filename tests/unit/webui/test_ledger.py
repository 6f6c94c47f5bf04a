"""The suggestion ledger (/ledger) on hand-built records: what each row says (answers, re-routing, promise, follow-up,
evidence, status), who sees which rows, filters from the address, paging, and the CSV/XLSX exports read back."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.consultation.models import Consultation, Suggestion
from domain.work.models import Upload
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion
from engine.store.submissions import TaskSubmission

AT = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)


def _case(session, version_id: int, number: int, topic: str, tier: str, unit: str, meeting: date) -> Consultation:
    instance = ProcessInstance(version_id=version_id, process_id="consultation", status="running", state="{}",
                               step=5, tier=tier, org_unit_code=unit, started_by="m001", created_at=AT,
                               updated_at=AT)
    session.add(instance)
    session.flush()
    record = Consultation(instance_id=instance.id, title=f"议题{number}", topic=topic, tier=tier, org_unit_code=unit,
                          status="in_progress", step=5, meeting_date=meeting, created_at=AT, updated_at=AT)
    session.add(record)
    session.flush()
    return record


def _suggestion(session, case: Consultation, number: int, text: str, department: str, **answer) -> Suggestion:
    row = Suggestion(consultation_id=case.id, number=number, text=text, department_code=department,
                     answer_round=answer.pop("answer_round", 1 if answer.get("adoption") else 0), **answer)
    session.add(row)
    return row


def _task(session, case: Consultation, spec: str, label: str, unit: str, due: datetime | None = None) -> str:
    task_id = f"t-{spec}-{case.instance_id}"
    session.add(HumanTask(id=task_id, instance_id=case.instance_id, task_spec=spec, name=spec, item_label=label,
                          step=5, role="department" if unit.startswith(("dept_", "svc_")) else "office",
                          org_unit_code=unit, status="ready", due_at=due, created_at=AT, escalation_level=0))
    return task_id


@pytest.fixture
def ledger_data(web_engine):
    """Four meetings: a township's (partly adopted and overdue; re-routed; evidence), a county one (a department
    with no answer yet; an unsatisfied suggestion re-answered), a committee's, and another township's."""
    engine = web_engine
    engine.clock.set(AT)
    with engine.unit_of_work() as session:
        version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "consultation"))
        xunchang = _case(session, version_id, 1, "老街夜间照明与出行安全", "township", "township_xunchang",
                         date(2026, 4, 15))
        _suggestion(session, xunchang, 1, "增设老街路灯 20 盏", "dept_housing", adoption="partly",
                    reason="资金分两年安排", measures="今年先装 10 盏", promised_date=date(2026, 5, 10))
        _suggestion(session, xunchang, 2, "老街电网改造，解决电压不稳", "svc_power_xunchang", adoption="adopted",
                    measures="更换变压器", promised_date=date(2026, 9, 30),
                    departments_before=["dept_housing", "svc_power"], satisfaction="satisfied",
                    follow_up="变压器已更换，电压稳定")
        county = _case(session, version_id, 2, "县城停车难", "county", "county", date(2026, 3, 20))
        _suggestion(session, county, 1, "新建公共停车场两处", "dept_transport")
        _suggestion(session, county, 2, "优化夜间公交班次", "dept_transport", adoption="adopted",
                    measures="增开两班夜班车", promised_date=date(2026, 6, 30), satisfaction="unsatisfied",
                    follow_up="班次仍不够", answer_round=2)
        committee = _case(session, version_id, 3, "中小学课后服务", "committee", "committee_education",
                          date(2025, 11, 5))
        _suggestion(session, committee, 1, "课后服务经费纳入预算", "dept_education", adoption="not_adopted",
                    reason="已有专项经费")
        shanghe = _case(session, version_id, 4, "集镇污水处理", "township", "township_shanghe", date(2026, 4, 2))
        _suggestion(session, shanghe, 1, "建设集镇污水管网", "dept_ecology", adoption="solved",
                    measures="管网已于去年建成")
        ids = {"xunchang": xunchang.instance_id, "county": county.instance_id, "committee": committee.instance_id,
               "shanghe": shanghe.instance_id}
        tasks = {"answer": _task(session, county, "answer_suggestion", "新建公共停车场两处", "dept_transport",
                                 due=AT - timedelta(days=2))}
        visit = "visit-xunchang"
        session.add(TaskSubmission(instance_id=xunchang.instance_id, task_id=visit, task_spec="follow_up_visit",
                                   name="回访问效", step=6, actor="organizer_xunchang", submitted_at=AT,
                                   data={"visits": [{"suggestion_id": 2, "residents_satisfaction": "satisfied"}],
                                         "evidence": "a" * 24}))
        session.add(Upload(id="a" * 24, owner="organizer_xunchang", instance_id=xunchang.instance_id, task_id=visit,
                           filename="回访照片.jpg", content_type="image/jpeg", size=1000, sha256="0" * 64,
                           created_at=AT, attached_at=AT))
    return ids, tasks


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="ledger-row[^"]*" data-suggestion="\d+">(.*?)</tr>', page, re.S)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_office_sees_every_suggestion_with_its_answer_promise_follow_up_and_evidence(client, login, ledger_data):
    ids, tasks = ledger_data
    page = login("office").get("/ledger?sort=meeting&dir=asc").get_data(as_text=True)
    rows = [_text(row) for row in _rows(page)]
    assert len(rows) == 6 and "共 6 项" in page
    assert rows[0].startswith(f"#{ids['committee']} 中小学课后服务")      # the oldest meeting first
    assert "未采纳" in rows[0] and "已有专项经费" in rows[0] and "已答复，待回访" in rows[0]
    partly = next(row for row in rows if "增设老街路灯" in row)
    assert "部分采纳" in partly and "资金分两年安排" in partly and "今年先装 10 盏" in partly
    assert "2026-05-10 逾期未办结" in partly and "县住房和城乡建设局" in partly
    rerouted = next(row for row in rows if "电网改造" in row)
    assert "国网珙县供电公司巡场供电所" in rerouted
    assert "改派自：县住房和城乡建设局 → 国网珙县供电公司" in rerouted
    assert "满意" in rerouted and "变压器已更换" in rerouted and "已办结" in rerouted and "逾期" not in rerouted
    assert f'href="/files/{"a" * 24}"' in page and "回访照片.jpg" in page
    waiting = next(row for row in rows if "新建公共停车场" in row)
    assert "尚未答复" in waiting and "待答复" in waiting and "去催办" in waiting and "任务已超期" in waiting
    assert f'href="/tasks/{tasks["answer"]}"' in page
    reanswered = next(row for row in rows if "夜间公交" in row)
    assert "不满意" in reanswered and "再次答复" in reanswered and "已再次答复，待回访" in reanswered
    assert f'href="/instances/{ids["county"]}"' in page


def test_a_department_sees_only_its_own_suggestions_and_the_way_to_answer(client, login, ledger_data):
    _ids, tasks = ledger_data
    page = login("liaison_transport").get("/ledger").get_data(as_text=True)
    rows = [_text(row) for row in _rows(page)]
    assert len(rows) == 2 and all("县交通运输局" in row for row in rows)
    assert f'href="/tasks/{tasks["answer"]}"' in page and "去答复" in page and "去催办" not in page
    other = login("liaison_housing").get("/ledger").get_data(as_text=True)
    assert [("增设老街路灯" in _text(row)) for row in _rows(other)] == [True]     # the re-routed one left it
    assert "去答复" not in other


def test_a_suggestion_sent_back_waits_for_the_office_which_may_take_it_up(client, login, web_engine, ledger_data):
    with web_engine.unit_of_work() as session:      # dept_civil answered "not ours": the office re-routes it
        version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "consultation"))
        case = _case(session, version_id, 5, "农村客运", "committee", "committee_economy", date(2026, 2, 1))
        _suggestion(session, case, 1, "开通镇村公交", "dept_civil")
        task_id = _task(session, case, "reassign_department", "开通镇村公交", "county")
    office = [_text(row) for row in _rows(login("office").get("/ledger?unit=committee_economy").get_data(as_text=True))]
    assert office == [f"#{case.instance_id} 农村客运 专委会/界别·专事专商 · 经济委员会 · 会议 2026-02-01 "
                      "建议 1：开通镇村公交 县民政局 尚未答复 — 尚未回访 — 退回政协办公室改派 去办理"]
    page = login("supervisor_county").get("/ledger?unit=committee_economy").get_data(as_text=True)
    assert f'href="/tasks/{task_id}"' in page and "去催办" in page and "去办理" not in page
    civil = login("liaison_civil").get("/ledger").get_data(as_text=True)
    assert "退回政协办公室改派" in civil and "去答复" not in civil and "去催办" not in civil


def test_a_township_supervisor_sees_only_their_township(client, login, ledger_data):
    ids, _tasks = ledger_data
    page = login("supervisor_xunchang").get("/ledger").get_data(as_text=True)
    rows = [_text(row) for row in _rows(page)]
    assert len(rows) == 2 and all(row.startswith(f"#{ids['xunchang']} ") for row in rows)
    assert "集镇污水" not in page and "停车" not in page
    county = login("supervisor_county").get("/ledger").get_data(as_text=True)
    assert len(_rows(county)) == 6 and "去催办" in county


def test_a_member_sees_the_suggestions_of_the_cases_they_may_see(client, login, ledger_data):
    page = login("m001").get("/ledger").get_data(as_text=True)      # m001 started all four cases
    assert len(_rows(page)) == 6 and "去催办" not in page and "去答复" not in page
    neighbour = login("m014").get("/ledger").get_data(as_text=True)     # a member on 巡场镇's roster
    assert {("老街" in _text(row)) for row in _rows(neighbour)} == {True} and len(_rows(neighbour)) == 2
    outsider = login("m002").get("/ledger").get_data(as_text=True)
    assert _rows(outsider) == [] and "没有符合条件的意见建议" in outsider


@pytest.mark.parametrize(("query", "expected"), [
    ("adoption=adopted,partly&period=2026", {"增设老街路灯", "电网改造", "夜间公交"}),
    ("adoption=adopted&adoption=partly&period=2026-04", {"增设老街路灯", "电网改造"}),
    ("answered=1", {"增设老街路灯", "电网改造", "夜间公交", "课后服务", "污水管网"}),
    ("answered=0", {"停车场"}),
    ("adoption=none", {"停车场"}),
    ("period=2025", {"课后服务"}),
    ("period=2026-Q1", {"停车场", "夜间公交"}),
    ("adoption=adopted,partly&period=2026-Q2", {"增设老街路灯", "电网改造"}),
    ("tier=township", {"增设老街路灯", "电网改造", "污水管网"}),
    ("unit=township_shanghe", {"污水管网"}),
    ("department=dept_transport", {"停车场", "夜间公交"}),
    ("satisfaction=unsatisfied", {"夜间公交"}),
    ("satisfaction=satisfied,none&tier=township", {"增设老街路灯", "电网改造", "污水管网"}),
    ("overdue=1", {"增设老街路灯"}),
    ("department=dept_water", set()),          # a department with no suggestions at all
    ("department=dept_transport&answered=1&adoption=partly", set()),
])
def test_filters_come_from_the_address(client, login, ledger_data, query, expected):
    page = login("office").get(f"/ledger?{query}").get_data(as_text=True)
    texts = [_text(row) for row in _rows(page)]
    assert {word for word in expected if any(word in row for row in texts)} == expected
    assert len(texts) == len(expected)


@pytest.mark.parametrize(("query", "message"), [
    ("period=2026-13", "期间应为年份"), ("period=2026-Q5", "季度（如 2026-Q2）"), ("adoption=yes", "办理结果应为"),
    ("per_page=1000", "每页条数应在 1 到 100"),
    ("sort=drop", "排序方式无效"), ("answered=maybe", "是否已答复"), ("unit=" + "x" * 80, "单位代码无效"),
])
def test_a_bad_filter_is_refused_with_a_message_and_kept(client, login, ledger_data, query, message):
    response = login("office").get(f"/ledger?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page and _rows(page) == []
    if query.startswith("period"):
        assert f'value="{query.removeprefix("period=")}"' in page


def test_sorting_and_paging_are_bounded(client, login, ledger_data):
    login("office")
    first = client.get("/ledger?per_page=4&sort=promised&dir=asc").get_data(as_text=True)
    assert "每页 4 项，共 6 项" in first and len(_rows(first)) == 4 and 'rel="prev"' not in first
    promised = re.findall(r"(\d{4}-\d{2}-\d{2})(?: <span class=\"badge late\">)?", " ".join(
        re.findall(r'data-label="承诺办结">([^<]*)', first)))
    assert promised == ["2026-05-10", "2026-06-30", "2026-09-30"]
    after = re.search(r'href="(/ledger\?[^"]*)" rel="next"', first)[1].replace("&amp;", "&")
    assert "per_page=4" in after and "sort=promised" in after and "after=" in after
    second = client.get(after).get_data(as_text=True)
    assert len(_rows(second)) == 2 and 'rel="next"' not in second
    assert not {row for row in _rows(second)} & {row for row in _rows(first)}
    back = re.search(r'href="(/ledger\?[^"]*)" rel="prev"', second)[1].replace("&amp;", "&")
    assert _rows(client.get(back).get_data(as_text=True)) == _rows(first)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJtZWV0aW5nLWRlc2MiXQ", "a" * 700, "%3Cscript%3E"])
def test_a_forged_page_link_is_refused_with_a_message(client, login, ledger_data, cursor):
    login("office")
    response = client.get(f"/ledger?per_page=4&after={cursor}")
    assert response.status_code == 400
    assert "翻页链接无效或已过期" in response.get_data(as_text=True)


def test_exports_read_back_as_the_filtered_ledger(client, login, ledger_data):
    login("office")
    response = client.get("/ledger.csv?adoption=adopted,partly&period=2026&sort=promised&dir=asc")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    header = rows[0]
    assert header[:8] == ["议题", "案件编号", "层级", "单位", "会议日期", "建议编号", "建议内容", "承办单位"]
    assert [row[6] for row in rows[1:]] == ["增设老街路灯 20 盏", "优化夜间公交班次", "老街电网改造，解决电压不稳"]
    first = dict(zip(header, rows[1], strict=True))
    assert first["办理结果"] == "部分采纳" and first["承诺办结日期"] == "2026-05-10" and first["逾期未办结"] == "是"
    assert first["状态"] == "逾期未办结"
    third = dict(zip(header, rows[3], strict=True))
    assert third["此前承办单位"] == "县住房和城乡建设局、国网珙县供电公司" and third["佐证材料"] == "回访照片.jpg"
    book = load_workbook(io.BytesIO(client.get("/ledger.xlsx?department=dept_transport").get_data()))
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 3 and {row[6] for row in values[1:]} == {"新建公共停车场两处", "优化夜间公交班次"}
    assert client.get("/ledger.pdf").status_code == 404
    assert client.get("/ledger.csv?period=20x6").status_code == 400


def test_a_liaison_exports_only_their_own(client, login, ledger_data):
    body = login("liaison_ecology").get("/ledger.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[6] for row in rows[1:]] == ["建设集镇污水管网"]


def test_the_figures_link_reaches_the_ledger_from_the_menu(client, login, ledger_data):
    page = login("m002").get("/inbox").get_data(as_text=True)
    assert 'href="/ledger"' in page
