"""Links made once per page (`webui.links.url_maker`) are the links Flask's routing would build for each row."""

from __future__ import annotations

import pytest
from flask import url_for

from webui.links import url_maker

ODD = ["t-1", "a b", "任务/1", "x%2Fy", "q?&=#", "~._-!$'()*+,;:@", "0"]


@pytest.mark.parametrize(("endpoint", "name", "values"), [
    ("task.show", "task_id", ODD), ("task.claim", "task_id", ODD), ("board.urge", "task_id", ODD),
    ("instances.detail", "instance_id", [1, 42, 9999999])])
def test_a_made_link_is_the_routed_link(app, endpoint, name, values):
    with app.test_request_context("/"):
        make = url_maker(endpoint, name)
        for value in values:
            assert make(value) == url_for(endpoint, **{name: value}), value
