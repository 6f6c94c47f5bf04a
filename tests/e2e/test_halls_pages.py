"""In the browser: the halls registry with its seven-item matrix, a hall's page, the coverage per township and the
import's row-by-row error report, on a desktop and a phone (never wider than the screen); screenshots to
$XIESHANG_SHOTS/halls. The township's records (tests/support/halls_fixture.py) are removed after the module."""

from __future__ import annotations

import shutil
import struct
import zlib

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from domain.consultation.models import Consultation, Suggestion
from domain.halls import registry
from domain.halls.models import HallContact, HallFile, HallProfile, HallStandard
from domain.halls.registry import Contact
from domain.meetings.models import Meeting
from domain.plans.models import ConsultationPlan
from engine.store.models import ProcessInstance
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support import halls_fixture as fx

SHOTS = shots("halls")
BAD_SHEET = "议事厅,地址,电话1,委员\n曹营镇珙桐议事厅,曹营镇政府一楼,,m001\n没有这个厅,某地,,\n" \
            "township_caoying_v01_hall,村委会,电话号码,nobody\n"


def picture(width: int = 320, height: int = 200) -> bytes:
    """A PNG of a green hall front under a blue sky (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + b"".join(bytes((90, 150, 220) if y < height // 2 else
                                           (200, 40, 40) if abs(x - width // 2) < 30 and y > height * 3 // 4 else
                                           (60, 140, 80)) for x in range(width)) for y in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def keep(walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


@pytest.fixture(scope="module")
def township(live_server):
    engine = live_server.engine
    with engine.unit_of_work() as session:
        fx.build(session)
        registry.save_profile(session, fx.ALL, "曹营镇人民政府院内一楼", "每月 10 日固定议事；工作日 9:00—17:00 可预约",
                              [Contact("王建国", "党委副书记", "138 0831 0001"), Contact("李梅", "议事厅管理员", None)],
                              "office", fx.AT)
        for username in ("m001", "m014", "m027"):
            registry.assign(session, fx.ALL, username, registry.member_capacity(session, username), "office", fx.AT)
    yield
    with engine.unit_of_work() as session:
        cases = select(Consultation.id).where(Consultation.hall_code.like(f"{fx.TOWNSHIP}%"))
        instances = list(session.scalars(select(Consultation.instance_id).where(Consultation.id.in_(cases))))
        session.execute(delete(Suggestion).where(Suggestion.consultation_id.in_(cases)))
        session.execute(delete(Consultation).where(Consultation.instance_id.in_(instances)))
        session.execute(delete(ProcessInstance).where(ProcessInstance.id.in_(instances)))
        session.execute(delete(Meeting).where(Meeting.hall_code.like(f"{fx.TOWNSHIP}%")))
        session.execute(delete(ConsultationPlan).where(ConsultationPlan.org_unit_code.like(f"{fx.TOWNSHIP}%")))
        for table in (HallStandard, HallProfile, HallContact, HallFile, registry.HallMember):
            session.execute(delete(table).where(table.hall_code.like(f"{fx.TOWNSHIP}%")))


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_registry_a_hall_the_coverage_and_the_import_report(walk, township, tmp_path):
    walk.server.clock.set(fx.AT)
    page = as_person(walk, "office")
    page.goto(f"/halls?township={fx.TOWNSHIP}&year=2026")
    expect(page.locator("p.muted").first).to_contain_text("共 13 个议事厅，其中 1 个七有全部达标")
    expect(page.locator("tr.hall-ok")).to_contain_text("曹营镇珙桐议事厅")
    keep(walk, "registry")
    page.get_by_role("link", name="曹营镇珙桐议事厅").click()
    expect(page.locator("h1")).to_have_text("曹营镇珙桐议事厅")
    expect(page.locator(".hall-profile")).to_contain_text("王建国（党委副书记）")
    expect(page.locator("#members")).to_contain_text("联系委员（3 名）")
    expect(page.locator("#held")).to_contain_text("在此开展的协商（1）")
    if not page.locator("#photos img").count():          # the first device's walk uploads it
        photo = tmp_path / "议事厅外景.png"
        photo.write_bytes(picture())
        page.locator('#photos input[type="file"]').set_input_files(str(photo))
        page.get_by_role("button", name="上传照片").click()
    expect(page.locator("#photos img")).to_have_count(1)
    expect(page.locator("#photos img")).to_have_js_property("complete", True)
    assert page.locator("#photos img").evaluate("img => img.naturalWidth") == 320
    keep(walk, "hall")
    page.goto(f"/halls/{fx.TOWNSHIP}_v02_hall")
    expect(page.locator("#item-signage")).to_contain_text("待确认")
    expect(page.locator("#item-signage").get_by_role("button", name="退回")).to_be_visible()
    keep(walk, "hall-awaiting")
    page.goto("/halls/coverage?year=2026")
    row = page.locator("tr").filter(has_text="曹营镇")
    expect(row.locator("td").nth(1)).to_have_text("13")
    keep(walk, "coverage")
    row.locator("a.hall-gap").first.click()
    expect(page).to_have_url(__import__("re").compile(r"/halls\?.*missing=venue"))
    page.goto("/halls/import")
    sheet = tmp_path / "halls.csv"
    sheet.write_text(BAD_SHEET, encoding="utf-8")
    page.locator('input[name="sheet"]').set_input_files(str(sheet))
    page.get_by_role("button", name="检查并导入").click()
    expect(page.locator(".flash.error")).to_contain_text("有 4 处问题，未导入任何内容")
    report = page.locator("table.hall-problems")
    expect(report).to_contain_text("没有名称或代码为“没有这个厅”的议事厅")
    expect(report).to_contain_text("没有委员“nobody”")
    keep(walk, "import-report")
    page = as_person(walk, "organizer_caoying")
    page.goto(f"/halls/{fx.TOWNSHIP}_v01_hall#item-venue")
    expect(page.locator("#item-venue")).to_contain_text("未提交")
    expect(page.locator("#item-venue").get_by_role("button", name="提交确认")).to_be_visible()
    keep(walk, "township-entry")
