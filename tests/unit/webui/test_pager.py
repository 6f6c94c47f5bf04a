"""The one pager macro: previous/next links from whatever URLs the page passes (offset pages or keyset cursors), the
label between them, a missing side left out; URLs escaped once."""

from __future__ import annotations

import lxml.html

from tests.support.consultation import SCENARIOS


def _pager(app, *args, **kwargs):
    with app.test_request_context("/"):
        return lxml.html.fromstring(str(app.jinja_env.get_template("_pager.html").module.pager(*args, **kwargs)))


def test_both_sides_and_the_label(app):
    nav = _pager(app, "/board/tasks?state=overdue&after=a1", "/board/tasks?state=overdue&before=b2", "第 2 页")
    assert [(a.text, a.get("href"), a.get("rel")) for a in nav.xpath("//a")] == [
        ("上一页", "/board/tasks?state=overdue&after=a1", "prev"),
        ("下一页", "/board/tasks?state=overdue&before=b2", "next")]
    assert nav.xpath("//span")[0].text == "第 2 页" and nav.get("aria-label") == "分页"


def test_a_first_page_has_no_previous_link_and_classes_go_on_the_links(app):
    nav = _pager(app, None, "/admin/users?page=2", "第 1 / 2 页", link_class="button")
    assert [(a.text, a.get("class")) for a in nav.xpath("//a")] == [("下一页", "button")]


def test_the_list_pages_use_it(web_engine, client, login):
    web_engine.start_instance("consultation", SCENARIOS["township"].intake(), actor="m001")
    login("office")
    for path, label in (("/instances", "第 1 / 1 页，共 1 项"), ("/inbox?tab=claimable", "每页 20 项，共 1 项")):
        page = lxml.html.fromstring(client.get(path).get_data(as_text=True))
        [nav] = page.xpath("//nav[@class='pager']")
        assert label in nav.text_content() and not nav.xpath(".//a"), path
