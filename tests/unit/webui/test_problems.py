"""Bundle problems on the studio's pages are in the reader's language: the engine's English for English pages,
Chinese for the problems we know on Chinese pages, the engine's words kept for what no pattern covers."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel

from webui.problems import problem_text


@pytest.fixture
def app():
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: app.config["LANG"])
    return app


@pytest.mark.parametrize(("message", "chinese"), [
    ("formJsonSchemaFilename: form file forms/pre_check.schema.json is missing from the bundle",
     "表单文件 forms/pre_check.schema.json 不在草稿中（formJsonSchemaFilename）"),
    ("not well-formed XML: Opening and ending tag mismatch: b line 1 and a",
     "XML 格式错误：Opening and ending tag mismatch: b line 1 and a"),
    ("file is 2,000,001 bytes; the limit is 2,000,000 bytes", "文件 2,000,001 字节，超过上限 2,000,000 字节"),
    ("unknown DMN decision id 'follow_up_v2'", "找不到决策 'follow_up_v2'"),
    ("DOCTYPE and ENTITY declarations are not allowed", "不允许 DOCTYPE 和 ENTITY 声明"),
    ("a process with the id 'site_visit' exists already", "流程标识 site_visit 已被使用"),
])
def test_known_problems_read_in_chinese_and_stay_english_on_english_pages(app, message, chinese):
    app.config["LANG"] = "zh_Hans_CN"
    with app.test_request_context():
        assert problem_text(message) == chinese
    app.config["LANG"] = "en"
    with app.test_request_context():
        assert problem_text(message) == message


def test_an_unknown_problem_keeps_the_engines_words(app):
    app.config["LANG"] = "zh_Hans_CN"
    with app.test_request_context():
        assert problem_text("Unsupported BPMN element: foo") == "Unsupported BPMN element: foo"
