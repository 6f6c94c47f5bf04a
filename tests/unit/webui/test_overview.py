"""The overview page reads the engine's projections; anonymous people go to the sign-in page."""

from __future__ import annotations


def test_overview_shows_instances_and_versions(web_engine, client, login):
    web_engine.start_instance("mini", {"title": "<script>alert(1)</script>"})
    assert client.get("/overview").status_code == 302
    login("office")
    page = client.get("/overview").get_data(as_text=True)
    assert "运行概览" in page and "consultation" in page and "待办任务" in page
    assert "<script>alert(1)</script>" not in page
