"""In the browser: /figures links each satisfaction number to the ledger rows behind it and offers the month's report
as a PDF download, which is read back; /board offers it too. Screenshots also copied to $XIESHANG_SHOTS/report."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import expect

from domain.consultation import figures as figs
from domain.consultation import report as rep
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support import report_fixture

SHOTS = shots("report")


@pytest.fixture(scope="module")
def records(live_server):
    with live_server.engine.unit_of_work() as session:
        return report_fixture.load(session, late_tasks=False)     # no open task: the server is shared


def keep(walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_satisfaction_links_and_the_monthly_report_download(walk, records):
    page = as_person(walk, "supervisor_county")
    with walk.server.engine.reading() as session:          # other tests' records share the server: what SQL says
        numbers = figs.compute(session, rep.parse_month("2026-05"))
    assert numbers.satisfaction.denominator >= 2
    page.goto("/figures?period=2026-05")
    satisfied = page.locator(".figures-cards a[aria-label='查看群众满意和基本满意的建议']")
    expect(satisfied).to_have_text(str(numbers.satisfaction.numerator))
    link = page.locator("a.report-link")
    expect(link).to_contain_text("下载月报 (PDF) · 2026-05")
    keep(walk, "figures")

    with page.expect_download(timeout=60_000) as download:     # the PDF takes seconds on a loaded machine
        link.click()
    pdf = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == "协商工作月报-2026-05.pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "".join(ch for p in reader.pages for ch in p.extract_text() if not ch.isspace() and ch != "\x00")
    assert "2026年5月全县协商工作月报" in text and f"{numbers.adoption.percent:.1f}%" in text

    satisfied.click()
    expect(page.locator("body")).to_contain_text(f"共 {numbers.satisfaction.numerator} 项")
    assert "satisfaction=satisfied,basically_satisfied" in page.url
    keep(walk, "ledger-satisfied")

    page.goto("/board")
    expect(page.locator("a.report-link")).to_be_visible()
    keep(walk, "board")
