"""State serialization without the spec, settings from the environment, and the injectable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer

from engine.bpmn import runtime
from engine.bpmn.serialization import state_serializer
from engine.bpmn.specs import load_bundle
from engine.clock import FrozenClock, using
from engine.errors import InvalidState
from engine.settings import Settings
from engine.store.versions import VersionCache
from tests.conftest import DATA


@pytest.fixture(scope="module")
def parsed():
    return VersionCache().parse(load_bundle([DATA / "mini"]))


def test_state_round_trip_keeps_dates_decimals_and_ready_tasks(parsed, clock):
    workflow = runtime.new_workflow(parsed, {"title": "x", "count": 1})
    runtime.run(workflow, clock)
    [task] = runtime.ready_user_tasks(workflow)
    task.set_data(when=date(2026, 5, 1), amount=Decimal("12.50"))
    text = state_serializer().dumps(workflow)
    assert '"spec"' not in text[:200] and "mini" not in text.split('"tasks"')[0]
    restored = state_serializer().loads(text, parsed.spec, parsed.subprocess_specs)
    [again] = runtime.ready_user_tasks(restored)
    assert again.id == task.id and again.data["when"] == date(2026, 5, 1)
    assert again.data["amount"] == Decimal("12.50")
    assert state_serializer().dumps(runtime.attach(restored)) == text


def test_unknown_state_format_is_refused(parsed):
    with pytest.raises(InvalidState, match="unknown format"):
        state_serializer().loads('{"format": 99}', parsed.spec, parsed.subprocess_specs)


def test_settings_from_environment_and_file(tmp_path):
    (tmp_path / "xieshang.toml").write_text('database_url = "sqlite:////tmp/from-file.db"\n', encoding="utf-8")
    settings = Settings.from_env({"XIESHANG_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == "sqlite:////tmp/from-file.db" and settings.embedded
    settings = Settings.from_env({"XIESHANG_INSTANCE_PATH": str(tmp_path), "XIESHANG_REDIS_URL": "redis://x:6379/0",
                                  "XIESHANG_DATABASE_URL": "postgresql+psycopg://db/x"})
    assert settings.database_url == "postgresql+psycopg://db/x" and not settings.embedded
    default = Settings.from_env({"XIESHANG_INSTANCE_PATH": str(tmp_path / "none")})
    assert default.database_url.endswith("/none/xieshang.db")


def test_spiff_timers_read_the_injected_clock():
    moment = datetime(2027, 2, 10, 8, 0, tzinfo=UTC)
    with using(FrozenClock(moment)):
        assert spiff_timer.datetime.now(UTC) == moment
    assert spiff_timer.datetime.now(UTC) != moment
