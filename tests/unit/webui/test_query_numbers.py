"""Numbers in query strings are bounded: too big, negative or not a number is a 400 that names the parameter and its
range (zh-CN first, English available), never a 500; within range the page still opens."""

from __future__ import annotations

import pytest

HUGE = "99999999999999999999"
CASES = [   # (who, path, parameter)
    ("office", "/instances", "page"),
    ("office", "/inbox", "step"),
    ("admin", "/admin/users", "page"),
    ("supervisor_county", "/board/tasks", "per_page"),
    ("admin", "/admin/calendar", "year"),
    ("office", "/notifications", "before"),
]


@pytest.mark.parametrize(("who", "path", "name"), CASES)
@pytest.mark.parametrize("value", [HUGE, "-1", "1e3", "abc"])
def test_a_number_out_of_range_is_a_clear_400(client, login, who, path, name, value):
    login(who)
    response = client.get(f"{path}?{name}={value}")
    body = response.get_data(as_text=True)
    assert response.status_code == 400, (path, name, value, response.status_code)
    assert f"查询参数 {name} 应为" in body and "之间的整数" in body


@pytest.mark.parametrize(("who", "path", "name"), CASES)
def test_a_number_in_range_still_works(client, login, who, path, name):
    login(who)
    value = {"year": "2026", "step": "2", "before": "5"}.get(name, "1")
    assert client.get(f"{path}?{name}={value}").status_code == 200
    assert client.get(f"{path}?{name}=").status_code == 200         # empty: the default


def test_the_message_is_in_english_on_english_pages(client, login):
    login("office")
    body = client.get(f"/instances?page={HUGE}&lang=en").get_data(as_text=True)
    assert "The query parameter page must be a whole number from 1 to 10000" in body


def test_the_api_bounds_its_page_too(client):
    token = client.post("/api/v1/tokens", json={"username": "office", "password": "xieshang-demo"}).get_json()
    response = client.get(f"/api/v1/instances?page={HUGE}", headers={"Authorization": f"Bearer {token['token']}"})
    assert response.status_code == 400 and response.is_json


def test_the_ledger_keeps_its_own_filter_form_with_the_same_400(client, login):
    login("office")
    response = client.get(f"/ledger?after={HUGE}")
    assert response.status_code == 400 and "翻页链接无效" in response.get_data(as_text=True)
