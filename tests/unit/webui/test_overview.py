"""The overview page and /healthz read the engine's projections."""

from __future__ import annotations

from engine.settings import Settings
from tests.conftest import DATA
from webui import create_app


def test_overview_shows_instances_and_versions(sqlite_service, sqlite_url, tmp_path):
    sqlite_service.deploy([DATA / "mini"])
    sqlite_service.start_instance("mini", {"title": "<script>alert(1)</script>"})
    settings = Settings(sqlite_url, None, tmp_path, DATA)
    client = create_app({"SETTINGS": settings, "ENGINE": sqlite_service}).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "运行概览" in page and "mini" in page and "待办任务" in page
    assert "<script>alert(1)</script>" not in page
    assert client.get("/healthz").get_json() == {"status": "ok", "instances": 1}
