"""The admin page of instances in `error` (cause, element, retry; Chinese first, English on request), and a task
submit whose script produces a value that cannot be stored: refused with a message, the person's input kept."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.store.models import User
from engine.sweep import run_sweep
from tests.support.poison import POISONS, guarded, write_bundle
from tests.unit.webui.conftest import csrf_of


@pytest.fixture
def failed(web_services, web_engine, tmp_path) -> int:
    """An instance whose timer's script produced a `range` (until 10 March), now in error."""
    bundle = write_bundle(tmp_path / "p", "until_tenth", guarded(POISONS["range"], "today() < '2026-03-10'"))
    web_engine.deploy([bundle], actor="owner")
    instance_id = web_engine.start_instance("until_tenth", {})
    web_engine.clock.advance(hours=2)
    assert run_sweep(web_engine, deliveries=web_services.deliveries).failed == {"timers": (instance_id,)}
    return instance_id


def test_admins_see_instances_in_error_and_retry_them(client, login, failed, web_engine):
    login("admin")
    page = client.get("/admin/errors").get_data(as_text=True)
    assert f"#{failed}</a>" in page and "<code>until_tenth</code>" in page and "<code>poison</code>" in page
    assert "data[&#39;value&#39;]: range cannot be stored" in page and ">重试</button>" in page
    response = client.post(f"/admin/errors/{failed}/retry", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"事项 #{failed} 重试后仍然出错：poison: 无法保存的数据" in page and f"#{failed}</a>" in page
    web_engine.clock.set(datetime.fromisoformat("2026-03-10T02:00:00+00:00"))     # the cause has gone away
    response = client.post(f"/admin/errors/{failed}/retry", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"事项 #{failed} 已恢复运行。" in page and "没有出错的事项。" in page
    assert web_engine.show_instance(failed).status == "running"
    again = client.post(f"/admin/errors/{failed}/retry", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409


def test_the_errors_page_in_english(client, login, failed):
    login("admin")
    page = client.get("/admin/errors?lang=en").get_data(as_text=True)
    assert "Instances in error" in page and ">Retry</button>" in page and "Failed element" in page
    assert "出错的事项" not in page


def test_only_admins_see_instances_in_error(client, login, failed):
    assert client.get("/admin/errors").status_code == 302
    login("office")
    assert client.get("/admin/errors").status_code == 403
    page = client.get("/notifications").get_data(as_text=True)
    assert client.post(f"/admin/errors/{failed}/retry", data={"csrf_token": csrf_of(page)}).status_code == 403


def test_a_submit_producing_a_value_that_cannot_be_stored_keeps_the_input(client, login, web_engine, tmp_path):
    bundle = write_bundle(tmp_path / "t", "after_task", guarded(POISONS["bytes"], "poison"), "task", "office")
    web_engine.deploy([bundle], actor="owner")
    with web_engine.unit_of_work() as session:      # the next task's named assignee is a real, active account
        session.add(User(username="clerk", display_name="办事员", password_hash="-", created_at=web_engine.clock.now()))
    instance_id = web_engine.start_instance("after_task", {})
    [task] = web_engine.list_tasks(instance_id=instance_id)
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    form = {"csrf_token": csrf_of(page), "revision": str(task.revision), "poison": "true", "note": "我写的说明"}
    response = client.post(f"/tasks/{task.id}", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "提交未成功：流程处理您提交的内容时出错" in page and "bytes cannot be stored" in page
    assert "我写的说明" in page                                                    # what they typed is still there
    assert [t.id for t in web_engine.list_tasks(instance_id=instance_id)] == [task.id]
    response = client.post(f"/tasks/{task.id}", data={**form, "poison": "false"})
    assert response.status_code == 302
    assert [t.task_spec for t in web_engine.list_tasks(instance_id=instance_id)] == ["after"]
