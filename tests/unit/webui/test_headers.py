"""Security headers on every kind of response: pages, errors, JSON, static files and probes; no template keeps
inline script or style (the policy would block it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webui.headers import CONTENT_SECURITY_POLICY

TEMPLATES = Path(__file__).resolve().parents[3] / "webui" / "templates"


def policy_of(response) -> dict[str, str]:
    return {part.split()[0]: part.partition(" ")[2] for part in response.headers["Content-Security-Policy"].split("; ")}


@pytest.mark.parametrize("path", ["/login", "/nowhere", "/static/css/app.css", "/healthz", "/api/v1/instances",
                                  "/track", "/intake"])
def test_every_response_carries_the_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = policy_of(response)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"   # no inline code, no eval
    assert policy["object-src"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    response.close()         # a static file is streamed from an open file


def test_signed_in_pages_and_refusals_carry_them_too(client, login):
    login("office")
    for path in ["/inbox", "/instances", "/instances?page=-5", "/admin/users"]:
        response = client.get(path)
        assert response.status_code in {200, 400, 403}
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["X-Frame-Options"] == "DENY", path


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_or_style(template):
    text = template.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag or 'type="application/json"' in tag, tag   # data blocks are not run
    assert not re.search(r"<style\b", text)
    assert not re.search(r"\sstyle=", text)
    assert not re.search(r"\son[a-z]+=", text)         # onclick= and friends
    assert "javascript:" not in text
