"""`xieshang report`: the monthly report written to a file, as the operator or as a user would get it."""

from __future__ import annotations

import io

import pypdf
import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.clock import FrozenClock
from tests.conftest import CONSULTATION, make_services
from tests.support import report_fixture

NOW = report_fixture.NOW.isoformat()


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A database with the demo people, the consultation and the report's records; invoke(*args) → (code, out, err)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("XIESHANG_DATABASE_URL", url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, ["--now", NOW, *args], catch_exceptions=False)
        return result.exit_code, result.stdout_bytes, result.stderr

    assert invoke("init")[0] == 0 and invoke("demo", "--no-cases")[0] == 0
    assert invoke("deploy", str(CONSULTATION))[0] == 0
    services = make_services(url, FrozenClock(report_fixture.NOW))
    with services.engine.unit_of_work() as session:
        report_fixture.load(session)
    services.close()
    return invoke


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join(ch for page in reader.pages for ch in page.extract_text() if not ch.isspace() and ch != "\x00")


def test_the_operator_writes_a_tiers_report(run, tmp_path):
    target = tmp_path / "may.pdf"
    code, _, err = run("report", "--month", "2026-05", "--tier", "county", "--output", str(target))
    assert code == 0 and "2026年5月 县政协 协商工作月报" in err and "1 consultations held" in err
    text = text_of(target.read_bytes())
    assert "2026年5月县政协协商工作月报" in text and "66.7%" in text and "县交通运输局" in text


def test_as_a_township_supervisor_the_report_is_their_townships(run):
    code, out, _ = run("report", "--month", "2026-05", "--as", "supervisor_xunchang", "--output", "-")
    text = text_of(out)
    assert code == 0 and "2026年5月巡场镇协商工作月报" in text and "老旧小区" not in text


@pytest.mark.parametrize("args, message", [
    (("--month", "2026-13"), "not a month"),
    (("--month", "2026-05", "--as", "m001"), "may not see the figures"),
    (("--month", "2026-05", "--as", "supervisor_xunchang", "--unit", "county"), "do not count"),
    (("--month", "2026-05", "--unit", "nowhere"), "no org unit"),
])
def test_what_it_refuses(run, tmp_path, args, message):
    target = tmp_path / "no.pdf"
    code, _, err = run("report", *args, "--output", str(target))
    assert code != 0 and message in err and "Traceback" not in err and not target.exists()
