"""Importing the hall list: a bad sheet is refused with each bad row named (row, column, what) and nothing saved; a
good sheet (XLSX or GBK CSV) saves every row; bounds on size and rows; a township imports only its own halls."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from domain.halls import registry
from domain.halls.importer import MAX_ROWS
from domain.halls.models import HallContact, HallMember, HallProfile
from engine.store.models import User
from tests.conftest import copy_sqlite
from tests.support import halls_fixture as fx
from tests.unit.webui.conftest import csrf_of


@pytest.fixture(scope="module")
def halls_template(sqlite_template, tmp_path_factory):
    return fx.template(sqlite_template, tmp_path_factory.mktemp("halls"))


@pytest.fixture
def sqlite_url(halls_template, tmp_path):
    """A copy of the demo people with the consultation deployed (and one township's records, which have no
    profiles or members: an import starts from none)."""
    return copy_sqlite(halls_template, tmp_path / "xieshang.db")


@pytest.fixture
def web_engine(sqlite_service):
    return sqlite_service


HEADER = ["议事厅", "地址", "开放时间", "联系人1", "职务1", "电话1", "联系人2", "职务2", "电话2", "委员"]


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _send(client, content: bytes, name: str):
    token = csrf_of(client.get("/halls/import").get_data(as_text=True))
    return client.post("/halls/import", data={"csrf_token": token, "sheet": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def _report(page: str) -> list[tuple[str, str, str]]:
    body = page.split('<table class="hall-problems">')[1].split("</table>")[0]
    return [tuple(re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S))
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]]


def _saved(engine) -> int:
    with engine.reading() as session:
        return session.scalar(select(func.count()).select_from(HallProfile))


def test_a_bad_sheet_names_each_bad_row_and_saves_nothing(client, login, web_engine):
    login("office")
    sheet = _xlsx([HEADER,
                   ["曹营镇珙桐议事厅", "曹营镇政府一楼", "每月 10 日", "王书记", "副书记", "13800000000",
                    "", "", "", "m001"],
                   ["没有这个厅", "某地", "", "", "", "", "", "", "", ""],
                   ["township_caoying_v01_hall", "地" * 201, "", "李主任", "", "电话号码", "", "", "", "nobody"],
                   ["", "无名", "", "", "", "", "", "", "", ""],
                   ["township_caoying_hall", "重复", "", "", "", "", "", "", "", ""],
                   ["township_caoying_v02_hall", "", "", "", "管理员", "", "", "", "", ""]])
    response = _send(client, sheet, "halls.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "未导入任何内容" in page
    assert _report(page) == [
        ("第 3 行", "议事厅", "没有名称或代码为“没有这个厅”的议事厅"),
        ("第 4 行", "地址", "超过 200 字"),
        ("第 4 行", "电话1", "电话“电话号码”格式不对：只能包含数字、空格、+ 和 -（5 到 30 位）"),
        ("第 4 行", "委员", "没有委员“nobody”（请填写用户名或姓名）"),
        ("第 5 行", "议事厅", "必填"),
        ("第 6 行", "议事厅", "“township_caoying_hall”与第 2 行重复"),
        ("第 7 行", "联系人1", "必填"),
    ]
    assert _saved(web_engine) == 0          # row 2 was fine, and still nothing was saved


def test_a_good_sheet_imports_every_row(client, login, web_engine):
    login("office")
    with web_engine.reading() as session:
        member_name = session.scalar(select(User.display_name).where(User.username == "m002"))
    sheet = _xlsx([HEADER,
                   ["曹营镇珙桐议事厅", "曹营镇政府一楼", "每月 10 日", "王书记", "副书记", "13800000000",
                    "李主任", "管理员", "0831-4600001", f"m001、{member_name}"],
                   ["township_caoying_v01_hall", "村委会二楼", "", "赵书记", "", "", "", "", "", ""]])
    response = _send(client, sheet, "halls.xlsx")
    assert response.status_code == 302
    assert "已导入 2 个议事厅的资料" in client.get(response.headers["Location"]).get_data(as_text=True)
    with web_engine.reading() as session:
        profile = registry.profile(session, "township_caoying_hall")
        members = {(m.username, m.capacity) for m in registry.members(session, "township_caoying_hall")}
        assert session.scalar(select(func.count()).select_from(HallContact)) == 3
    assert profile.address == "曹营镇政府一楼" and [c.name for c in profile.contacts] == ["王书记", "李主任"]
    assert members == {("m001", "municipal_member"), ("m002", "municipal_member")}


def test_a_gbk_csv_imports_and_an_empty_members_cell_keeps_the_members(client, login, web_engine):
    with web_engine.unit_of_work() as session:
        session.add(HallMember(hall_code="township_caoying_hall", username="m020", capacity="county_member",
                               assigned_at=web_engine.clock.now()))
    login("office")
    text = "议事厅,地址,委员\n曹营镇珙桐议事厅,曹营镇政府一楼,\n"
    assert _send(client, text.encode("gb18030"), "halls.csv").status_code == 302
    with web_engine.reading() as session:
        assert [m.username for m in registry.members(session, "township_caoying_hall")] == ["m020"]
        assert registry.profile(session, "township_caoying_hall").address == "曹营镇政府一楼"


def test_the_sheet_itself_is_bounded(client, login, web_engine):
    login("office")
    assert "只能导入 .xlsx 或 .csv 文件" in _send(client, b"x", "halls.txt").get_data(as_text=True)
    assert "缺少“议事厅”列" in _send(client, "地址\n某地\n".encode(), "h.csv").get_data(as_text=True)
    unknown = _send(client, "议事厅,电邮\n曹营镇珙桐议事厅,a@b\n".encode(), "h.csv").get_data(as_text=True)
    assert ("第 1 行", "电邮", "不认识这一列（可用的列见下方说明）") in _report(unknown)
    many = "议事厅\n" + "曹营镇珙桐议事厅\n" * (MAX_ROWS + 2)
    assert f"超过 {MAX_ROWS} 行，请分批导入" in _send(client, many.encode(), "h.csv").get_data(as_text=True)
    assert "无法读取文件" in _send(client, b"PK not a zip", "h.xlsx").get_data(as_text=True)
    assert _saved(web_engine) == 0


def test_a_township_imports_only_its_own_halls(client, login, web_engine):
    login("organizer_caoying")
    page = _send(client, "议事厅,地址\n珙泉镇珙桐议事厅,某地\n曹营镇珙桐议事厅,一楼\n".encode(), "h.csv")
    assert _report(page.get_data(as_text=True)) == [("第 2 行", "议事厅", "“珙泉镇珙桐议事厅”不在您管辖的乡镇")]
    assert _saved(web_engine) == 0
