"""The halls registry on hand-built records (tests/support/halls_fixture.py): the seven items per hall, computed
from plans, meetings, consultations and suggestions for a year; coverage per township; who sees which township;
the township's entry and the county office's confirm/return flow, audited; the hall's page; photos."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain.consultation.models import Consultation
from domain.halls import registry, standard
from domain.halls.models import HallStandard
from engine.store.models import AuditEvent
from tests.conftest import copy_sqlite
from tests.support import halls_fixture as fx
from tests.unit.webui.conftest import csrf_of

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(scope="module")
def halls_template(sqlite_template, tmp_path_factory):
    return fx.template(sqlite_template, tmp_path_factory.mktemp("halls"))


@pytest.fixture
def sqlite_url(halls_template, tmp_path):
    """This module's database: a copy of the township built once."""
    return copy_sqlite(halls_template, tmp_path / "xieshang.db")


@pytest.fixture
def web_engine(sqlite_service):
    """The demo people, the consultation and the township are in the copied database already."""
    return sqlite_service


@pytest.fixture
def halls_data(web_engine):
    web_engine.clock.set(fx.AT)
    return web_engine


def _statuses(engine, year=2026, township=fx.TOWNSHIP):
    with engine.reading() as session:
        return {r.hall.code: r for r in standard.statuses(session, registry.halls(session, frozenset({township})),
                                                           year)}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_each_hall_misses_exactly_the_item_its_records_lack(halls_data):
    rows = _statuses(halls_data)
    assert rows[fx.ALL].meets_all and rows[fx.ALL].hall.township_name == "曹营镇"
    for hall, item in fx.MISSES.items():
        expected = (item, "results") if item == "activity" else (item,)   # nothing held there: no results either
        assert rows[hall].missing == expected, hall
    assert rows[f"{fx.TOWNSHIP}_v02_hall"].entered["signage"] == "submitted"
    assert rows[f"{fx.TOWNSHIP}_v03_hall"].entered["rules"] == "returned"
    assert rows[f"{fx.TOWNSHIP}_v01_hall"].entered["venue"] == "missing"
    last_year = _statuses(halls_data, 2025)        # the 2025 meeting counts for 2025 only; no plan that year
    assert last_year[f"{fx.TOWNSHIP}_v06_hall"].computed == {"plan": False, "activity": True, "results": False}
    assert not any(r.computed["plan"] for r in last_year.values())


def test_computed_items_follow_the_records(halls_data):
    hall = f"{fx.TOWNSHIP}_v06_hall"
    with halls_data.unit_of_work() as session:
        case = session.scalar(select(Consultation).where(Consultation.hall_code == hall))
        case.step = 5                                       # its meeting was held
    assert _statuses(halls_data)[hall].missing == ("results",)
    with halls_data.unit_of_work() as session:
        fx.suggestion(session, session.get(Consultation, case.id), 1, "adopted")
    assert _statuses(halls_data)[hall].meets_all
    with halls_data.unit_of_work() as session:                # a cancelled consultation holds nothing
        session.get(Consultation, case.id).status = "cancelled"
    assert _statuses(halls_data)[hall].missing == ("activity", "results")


def test_the_registry_shows_the_matrix_and_filters(client, login, halls_data):
    login("office")
    page = client.get(f"/halls?township={fx.TOWNSHIP}&year=2026").get_data(as_text=True)
    text = _text(page)
    assert "共 13 个议事厅，其中 1 个七有全部达标" in text
    assert "曹营镇珙桐议事厅" in text and "七有达标" in text
    missing = client.get(f"/halls?township={fx.TOWNSHIP}&missing=rules").get_data(as_text=True)
    assert f"/halls/{fx.TOWNSHIP}_v03_hall" in missing and f"/halls/{fx.TOWNSHIP}_v02_hall\"" not in missing
    meets = _text(client.get(f"/halls?township={fx.TOWNSHIP}&meets=1").get_data(as_text=True))
    assert "共 1 个议事厅" in meets


def test_coverage_counts_link_to_the_halls_behind_them(client, login, halls_data):
    login("office")
    page = client.get("/halls/coverage?year=2026").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a[^>]*township=township_caoying[^>]*>曹营镇</a>.*?</tr>", page, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert ">13<" in cells[1] and ">1<" in cells[2]
    # villages v08.. have no records: 13 halls miss plan except the 7 the plan names (ALL + six of MISSES)
    assert "missing=plan" in cells[3 + standard.ITEMS.index("plan")]
    assert re.search(r"missing=venue[^>]*>6<", row)          # v01 and the five villages without entries
    assert "合计" in page


def test_a_township_sees_only_its_township(client, login, halls_data):
    login("supervisor_caoying")
    page = client.get("/halls").get_data(as_text=True)
    assert "曹营镇珙桐议事厅" in page and "珙泉镇" not in page
    assert client.get("/halls/township_gongquan_hall").status_code == 403
    assert client.get("/halls?township=township_gongquan").get_data(as_text=True).count("/halls/township_") == 0
    coverage = _text(client.get("/halls/coverage").get_data(as_text=True))
    assert "曹营镇" in coverage and "珙泉镇" not in coverage
    assert client.get("/halls/import").status_code == 403           # supervisors watch, they do not keep
    _logout(client)
    assert "议事厅" not in login("m001").get("/inbox").get_data(as_text=True).split("</nav>")[0]
    assert client.get("/halls").status_code == 403


def _logout(client):
    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})


def _post(client, url, data, page_url):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, content_type="multipart/form-data")


def test_the_township_enters_and_the_office_confirms_or_returns(client, login, halls_data):
    hall, page_url = f"{fx.TOWNSHIP}_v01_hall", f"/halls/{fx.TOWNSHIP}_v01_hall"
    login("organizer_caoying")
    refused = _post(client, f"{page_url}/standard/venue", {"note": ""}, page_url)
    assert refused.status_code == 422 and "请填写说明或上传证明材料" in refused.get_data(as_text=True)
    long = _post(client, f"{page_url}/standard/venue", {"note": "长" * 1001}, page_url)
    assert long.status_code == 422 and "说明不能超过 1000 字" in long.get_data(as_text=True)
    sent = _post(client, f"{page_url}/standard/venue",
                 {"note": "村委会二楼 60 平方米", "files": (io.BytesIO(b"%PDF-1.4 test"), "场所.pdf")}, page_url)
    assert sent.status_code == 302
    shown = client.get(page_url).get_data(as_text=True)
    assert "待确认" in shown and "场所.pdf" in shown and "村委会二楼 60 平方米" in shown
    assert "退回原因（退回时必填）" not in shown                   # the organizer does not decide
    download = re.search(rf'href="(/halls/{hall}/files/[0-9a-f]+)">场所.pdf', shown).group(1)
    with client.get(download) as response:
        assert response.data == b"%PDF-1.4 test" and "attachment" in response.headers["Content-Disposition"]
    _logout(client)
    login("office")
    no_reason = _post(client, f"{page_url}/standard/venue/decide", {"decision": "return", "reason": ""}, page_url)
    assert no_reason.status_code == 422 and "退回时请写明原因" in no_reason.get_data(as_text=True)
    _post(client, f"{page_url}/standard/venue/decide", {"decision": "return", "reason": "缺少门牌照片"}, page_url)
    assert "退回原因：缺少门牌照片" in client.get(page_url).get_data(as_text=True)
    again = _post(client, f"{page_url}/standard/venue/decide", {"decision": "confirm"}, page_url)
    assert again.status_code == 422 and "不在待确认状态" in again.get_data(as_text=True)
    _logout(client)
    login("organizer_caoying")
    _post(client, f"{page_url}/standard/venue", {"note": "已补门牌照片"}, page_url)
    _logout(client)
    login("office")
    _post(client, f"{page_url}/standard/venue/decide", {"decision": "confirm"}, page_url)
    assert _statuses(halls_data)[hall].meets_all
    with halls_data.reading() as session:
        row = session.scalar(select(HallStandard).where(HallStandard.hall_code == hall,
                                                               HallStandard.item == "venue"))
        events = [(e.kind, e.actor) for e in session.scalars(select(AuditEvent).where(
            AuditEvent.kind.like("hall_item_%")).order_by(AuditEvent.id))]
    assert (row.state, row.decided_by, row.note) == ("confirmed", "office", "已补门牌照片")
    assert events == [("hall_item_submitted", "organizer_caoying"), ("hall_item_returned", "office"),
                      ("hall_item_submitted", "organizer_caoying"), ("hall_item_confirmed", "office")]
    history = _text(client.get(page_url).get_data(as_text=True)).split("变更记录")[1]
    assert re.search(r"office · 确认七有项目“有阵地”.*organizer_caoying · 提交七有项目“有阵地”.*"
                     r"office · 退回七有项目“有阵地”：缺少门牌照片", history)


def test_only_the_county_office_decides_and_only_the_township_enters(client, login, halls_data):
    page_url = f"/halls/{fx.TOWNSHIP}_v02_hall"
    login("organizer_caoying")
    assert _post(client, f"{page_url}/standard/signage/decide", {"decision": "confirm"}, page_url).status_code == 403
    _logout(client)
    login("office")
    assert _post(client, f"{page_url}/standard/signage", {"note": "x"}, page_url).status_code == 403
    _logout(client)
    login("organizer_gongquan")
    assert client.get(page_url).status_code == 403


def test_the_hall_page_lists_profile_members_and_what_was_held_there(client, login, halls_data, web_services):
    login("organizer_caoying")
    page_url = f"/halls/{fx.ALL}"
    saved = _post(client, f"{page_url}/profile", {"address": "曹营镇政府一楼", "opening_hours": "每月 10 日",
                                                  "name1": "王书记", "role1": "党委副书记", "phone1": "138 0000 0000",
                                                  "name2": "", "role2": "", "phone2": "电话"}, f"{page_url}/profile")
    assert saved.status_code == 422 and "请填写姓名" in saved.get_data(as_text=True)
    assert "曹营镇政府一楼" in saved.get_data(as_text=True)            # what was typed is kept
    _post(client, f"{page_url}/profile", {"address": "曹营镇政府一楼", "opening_hours": "每月 10 日",
                                          "name1": "王书记", "role1": "党委副书记", "phone1": "138 0000 0000"},
          f"{page_url}/profile")
    _post(client, f"{page_url}/members", {"username": "m005"}, page_url)
    unknown = _post(client, f"{page_url}/members", {"username": "nobody"}, page_url)
    assert unknown.status_code == 422 and "没有这位委员" in unknown.get_data(as_text=True)
    photo = _post(client, f"{page_url}/photos", {"files": (io.BytesIO(PNG), "外景.png")}, page_url)
    assert photo.status_code == 302
    not_image = _post(client, f"{page_url}/photos", {"files": (io.BytesIO(b"%PDF-1.4"), "x.pdf")}, page_url)
    assert "照片只能是 JPG 或 PNG 图片" in not_image.get_data(as_text=True)
    text = _text(client.get(page_url).get_data(as_text=True))
    assert "曹营镇政府一楼" in text and "王书记（党委副书记）" in text and "每月 10 日" in text
    assert "m005" in text and "县政协委员" in text
    assert f"{fx.ALL}的协商" in text and "在此开展的协商（1）" in text
    page = client.get(page_url).get_data(as_text=True)
    img = re.search(r'<img src="([^"]+)" alt="外景.png"', page).group(1)
    with client.get(img) as response:
        assert response.mimetype == "image/png" and "attachment" not in response.headers.get("Content-Disposition", "")
    assert web_services.uploads.sweep(fx.AT + timedelta(days=30)) == 0          # a hall's files are kept
    with client.get(img) as response:
        assert response.status_code == 200 and response.data == PNG
    with halls_data.reading() as session:
        assert [m.username for m in registry.members(session, fx.ALL)] == ["m005"]
        kinds = {e.kind for e in session.scalars(select(AuditEvent).where(AuditEvent.kind.like("hall_%")))}
    assert {"hall_profile_saved", "hall_member_assigned", "hall_files_added"} <= kinds


def test_the_consultation_held_at_a_hall_is_linked_from_its_page(client, login, halls_data):
    login("office")
    with halls_data.reading() as session:
        case = session.scalar(select(Consultation).where(Consultation.hall_code == fx.ALL))
    page = client.get(f"/halls/{fx.ALL}").get_data(as_text=True)
    assert f'href="/instances/{case.instance_id}"' in page and str(date(2026, 4, 15)) in page


def test_the_hall_page_says_what_the_computed_items_rest_on(client, login, halls_data):
    login("office")
    text = _text(client.get(f"/halls/{fx.ALL}?year=2026").get_data(as_text=True))
    assert "5 月：事项1" in text
    assert "本年度在此召开会议 0 次，召开协商议事会 1 次" in text
    assert "采纳或部分采纳 1 条" in text
    missing = _text(client.get(f"/halls/{fx.TOWNSHIP}_v06_hall?year=2026").get_data(as_text=True))
    assert "本年度在此召开会议 0 次，召开协商议事会 0 次" in missing     # planned, last year's, not yet held
    assert "2026 年缺：有活动、有实效" in missing
    last_year = _text(client.get(f"/halls/{fx.TOWNSHIP}_v06_hall?year=2025").get_data(as_text=True))
    assert "本年度在此召开会议 1 次" in last_year and "本年度已批准的计划中没有在此开展的事项" in last_year
