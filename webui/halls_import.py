"""Importing the hall list `/halls/import`: upload an XLSX or CSV sheet; every bad row is named (row, column, what
is wrong) and nothing is saved, or every row is saved at once."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.halls import importer
from domain.people import policy

from . import engine_of
from .security import allowed_if, current_user

bp = Blueprint("halls_import", __name__, template_folder="templates")


def problem_text(problem: importer.Problem) -> str:
    """What is wrong, in the reader's language."""
    v = problem.values
    words = {
        "file_size": lambda: _("文件超过 %(limit)d MB", limit=v["limit"]),
        "file_type": lambda: _("只能导入 .xlsx 或 .csv 文件"),
        "file_unreadable": lambda: _("无法读取文件：请确认是 Excel（.xlsx）或 UTF-8/GBK 编码的 CSV"),
        "too_many_rows": lambda: _("超过 %(limit)d 行，请分批导入", limit=v["limit"]),
        "empty": lambda: _("表格是空的"),
        "no_rows": lambda: _("只有表头，没有数据行"),
        "unknown_column": lambda: _("不认识这一列（可用的列见下方说明）"),
        "missing_column": lambda: _("缺少“议事厅”列"),
        "required": lambda: _("必填"),
        "too_long": lambda: _("超过 %(limit)d 字", limit=v["limit"]),
        "phone": lambda: _("电话“%(value)s”格式不对：只能包含数字、空格、+ 和 -（5 到 30 位）", value=v["value"]),
        "hall_unknown": lambda: _("没有名称或代码为“%(value)s”的议事厅", value=v["value"]),
        "hall_ambiguous": lambda: _("有多个议事厅叫“%(value)s”，请改填代码", value=v["value"]),
        "hall_outside": lambda: _("“%(value)s”不在您管辖的乡镇", value=v["value"]),
        "hall_repeated": lambda: _("“%(value)s”与第 %(first)d 行重复", value=v["value"], first=v["first"]),
        "member_unknown": lambda: _("没有委员“%(value)s”（请填写用户名或姓名）", value=v["value"]),
        "member_ambiguous": lambda: _("有多位委员叫“%(value)s”，请改填用户名（%(usernames)s）", value=v["value"],
                                      usernames=v["usernames"]),
        "members_full": lambda: _("一个议事厅最多联系 %(limit)d 名委员", limit=v["limit"]),
    }
    return words[problem.code]()


@bp.route("/halls/import", methods=["GET", "POST"])
@allowed_if(policy.may_import_halls)
def upload():
    """The import form; a post checks the sheet and saves all its rows, or shows every problem and saves nothing."""
    problems, filename = [], ""
    if request.method == "POST":
        sent = request.files.get("sheet")
        filename = (sent.filename or "")[-200:] if sent else ""
        if not filename:
            problems = [importer.Problem(0, "", "file_type")]
        else:
            engine, user = engine_of(current_app), current_user()
            try:
                table = importer.read_table(filename, sent.stream.read(importer.MAX_BYTES + 1))
                with engine.unit_of_work() as session:
                    rows = importer.check(session, table, policy.import_townships(user))
                    count = importer.apply(session, rows, user.username, engine.clock.now())
            except importer.SheetRefused as refused:
                problems = refused.problems
            else:
                flash(_("已导入 %(n)d 个议事厅的资料", n=count), "success")
                return redirect(url_for("halls.index"))
    body = render_template("halls/import.html", problems=[(p, problem_text(p)) for p in problems[:500]],
                           more=max(0, len(problems) - 500), filename=filename, columns=importer.COLUMNS,
                           max_rows=importer.MAX_ROWS, max_mb=importer.MAX_BYTES // (1024 * 1024))
    return body, 422 if problems else 200
