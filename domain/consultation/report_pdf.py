"""The monthly report drawn as a PDF (A4, Chinese) with fpdf2: Noto Sans CJK SC embedded as a subset (fpdf2 embeds
the CID-keyed CFF outlines of Debian's fonts-noto-cjk with an encoding CMap and widths by CID, and a ToUnicode map
so the text can be searched and copied); tables repeat their headings on each page and wrap long text; every page
says the report, when it was made (Beijing time) and its page number. The words are the county's (zh-CN)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import WrapMode

from domain.consultation import figures as figs
from domain.consultation import report_fonts
from domain.consultation.report import MonthlyReport, OverdueRow
from domain.consultation.report_fonts import FontFile, FontMissing, face_index
from domain.consultation.vocabulary import STEP_NAMES, TIER_NAMES
from engine.clock import LOCAL_TZ

FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk", "/usr/share/fonts/google-noto-cjk")
FONT_FILES = {"": "NotoSansCJK-Regular.ttc", "B": "NotoSansCJK-Bold.ttc"}
FACE = "Noto Sans CJK SC"          # the collection's Simplified Chinese face (its glyph forms are the mainland's)
FAMILY = "noto"
MAX_CELL = 300                     # characters of one cell (a suggestion's text); the rest is cut with "…"
TOPIC_IN_LEDGER = 40               # the topic again on each suggestion's row: its start is enough
HEAD = FontFace(emphasis="BOLD", fill_color=(232, 236, 242))
ADOPTION = {"adopted": "采纳", "partly": "部分采纳", "not_adopted": "未采纳", "solved": "已解决", "none": "未答复"}
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
STATUS = {"awaiting_answer": "待答复", "rerouting": "退回改派", "awaiting_visit": "待回访",
          "unsatisfied": "不满意待督办", "supervised": "督办中", "reanswered": "再次答复待回访",
          "overdue": "逾期未办结", "closed": "已办结"}
LEVELS = {0: "—", 1: "一级", 2: "二级"}
DEFINITIONS = (
    "开展协商：“组织协商会议”一步办理完成即计为召开一次，按会议记录的召开日期计入月份。",
    "委员参与人次：完成的调查研究任务、会议记录中的参会委员（每次会议每人计一次）、委员本人提出的议题，三项相加。",
    "采纳率 =（采纳 + 部分采纳）÷ 已答复（采纳、部分采纳、未采纳、已解决）；满意率 =（满意 + 基本满意）÷ 已回访。",
    "按期完成率：本月完成且设有期限的任务中，在期限内完成的比例。没有可计算的数据时显示“—”。",
    "逾期任务：月份已过时为月末仍未办结且已过期限的任务，本月的为生成时的；期限和督办级别为当前记录。",
)


@lru_cache(maxsize=4)
def find_fonts(dirs: tuple[str, ...] = FONT_DIRS) -> dict[str, FontFile]:
    """The regular and bold Noto Sans CJK SC faces; raises FontMissing naming the package to install."""
    found = {}
    for style, name in FONT_FILES.items():
        path = next((Path(d) / name for d in dirs if (Path(d) / name).is_file()), None)
        if path is None:
            raise FontMissing(f"{name} not found in {', '.join(dirs)} (install Debian's fonts-noto-cjk)")
        found[style] = FontFile(path, face_index(path, FACE))
    return found


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    return "—" if moment is None else moment.astimezone(LOCAL_TZ).strftime(fmt)


def _pct(ratio: figs.Ratio) -> str:
    return "—" if ratio.percent is None else f"{ratio.percent:.1f}%"


def _cut(text: str | None, most: int = MAX_CELL) -> str:
    words = " ".join((text or "").split())
    return words if len(words) <= most else words[:most - 1] + "…"


class _Document(FPDF):
    """A4 portrait with the report's footer on every page."""

    def __init__(self, report: MonthlyReport, fonts: dict[str, FontFile]):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report = report
        for style, font in fonts.items():      # parsed once per process (report_fonts), not at every PDF
            if report_fonts.for_document(self, FAMILY, style, font).is_cid_keyed:
                self._set_min_pdf_version("1.6")      # as fpdf2's add_font does for a CID-keyed CFF font
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_title(report.title)
        self.set_lang("zh-CN")
        self.set_creator("xieshang")

    def footer(self):
        self.set_y(-13)
        self.set_font(FAMILY, size=8)
        self.set_text_color(90, 90, 90)
        made = _local(self.report.generated_at, "%Y-%m-%d %H:%M")
        self.cell(0, 5, f"{self.report.title} · 生成时间 {made}（北京时间） · 第 {self.page_no()} 页 / 共 {{nb}} 页",
                  align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str):
        if self.will_page_break(30):      # a heading keeps a few lines of what it heads on its page
            self.add_page()
        self.ln(3)
        self.set_font(FAMILY, "B", 12)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, size=9)

    def para(self, text: str, size: float = 9):
        self.set_font(FAMILY, size=size)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)

    def grid(self, headings: tuple[str, ...], widths: tuple[int, ...], rows, align: tuple[str, ...] | None = None):
        """A table: headings repeated on every page, long cells wrapped by character."""
        self.set_font(FAMILY, size=9)
        with self.table(col_widths=widths, width=sum(widths), align="LEFT", line_height=5, headings_style=HEAD,
                        wrapmode=WrapMode.CHAR, text_align=align or "LEFT", padding=1, repeat_headings=1) as table:
            table.row(headings)
            for row in rows:
                table.row([str(value) for value in row])
        self.ln(2)


def render(report: MonthlyReport, fonts: dict[str, FontFile] | None = None) -> bytes:
    """The report as PDF bytes."""
    pdf = _Document(report, fonts or find_fonts())
    pdf.add_page()
    _title(pdf, report)
    _figures(pdf, report)
    _overdue(pdf, report)
    _ledger(pdf, report)
    _definitions(pdf)
    return bytes(pdf.output())


def _title(pdf: _Document, report: MonthlyReport):
    pdf.set_font(FAMILY, "B", 18)
    pdf.multi_cell(0, 10, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    first = report.month.start.astimezone(LOCAL_TZ).date()
    last = (report.month.end.astimezone(LOCAL_TZ) - timedelta(days=1)).date()
    tier = TIER_NAMES.get(report.tier or "", "全部层级")
    pdf.set_font(FAMILY, size=9)
    pdf.multi_cell(0, 5, f"统计范围：{report.scope_name} · {tier} · {first} 至 {last}", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, f"生成时间：{_local(report.generated_at, '%Y-%m-%d %H:%M')}（北京时间）", align="C",
                   new_x="LMARGIN", new_y="NEXT")


def _figures(pdf: _Document, report: MonthlyReport):
    f = report.figures
    pdf.heading("一、本月主要数据")
    pdf.grid(("指标", "数值", "构成"), (50, 30, 100), [
        ("开展协商（次）", f.held, "“组织协商会议”一步办理完成，按会议召开日期计"),
        ("委员参与（人次）", f.participation,
         f"完成调查研究 {f.research_done}、参加协商会议 {f.attendances}、委员提出议题 {f.proposed}"),
        ("形成意见建议（条）", f.suggestions, "本月召开的协商会议形成的建议"),
        ("采纳率", _pct(f.adoption), f"采纳 + 部分采纳 {f.adoption.numerator} / 已答复 {f.adoption.denominator}"),
        ("满意率", _pct(f.satisfaction),
         f"满意 + 基本满意 {f.satisfaction.numerator} / 已回访 {f.satisfaction.denominator}"),
    ], align=("LEFT", "RIGHT", "LEFT"))
    pdf.heading("开展协商：按层级和平台")
    if f.held_by_unit:
        rows = [(TIER_NAMES.get(tier, tier or "—"), report.unit_names.get(unit, unit or "—"), count)
                for (tier, unit), count in sorted(f.held_by_unit.items())]
        pdf.grid(("层级", "平台", "次数"), (60, 90, 30), [*rows, ("合计", "", f.held)], align=("LEFT", "LEFT", "RIGHT"))
    else:
        pdf.para("本月没有召开协商会议。")
    pdf.heading("各步骤按期完成率")
    pdf.grid(("步骤", "按期完成率", "按期完成 / 已完成"), (80, 40, 60),
             [(f"{step}. {STEP_NAMES[step]}", _pct(ratio), f"{ratio.numerator} / {ratio.denominator}")
              for step, ratio in sorted(f.on_time.items())], align=("LEFT", "RIGHT", "RIGHT"))


def _overdue(pdf: _Document, report: MonthlyReport):
    if report.month_closed:
        when = f"截至月末 {_local(report.month.end - timedelta(days=1))} 24:00"
    else:
        when = f"截至生成时 {_local(report.overdue_as_of, '%Y-%m-%d %H:%M')}"
    pdf.heading(f"二、逾期任务（{when}）")
    if not report.overdue_total:
        pdf.para(f"{when}，没有逾期任务。")
        return
    shown = len(report.overdue)
    more = f"，列出逾期最久的 {shown} 项" if shown < report.overdue_total else ""
    pdf.para(f"共 {report.overdue_total} 项{more}。期限和督办级别为当前记录；逾期按工作日计（含调休）。")
    pdf.grid(("议题", "步骤", "任务", "承办", "期限", "逾期工作日", "督办级别"), (42, 24, 26, 32, 20, 18, 18),
             [(_cut(row.topic), STEP_NAMES.get(row.step, "—") if row.step is not None else "—",
               _cut(f"{row.task_name}（{row.item_label}）" if row.item_label else row.task_name), _cut(_holder(row)),
               _local(row.due_at), row.days_late, LEVELS.get(row.escalation_level, str(row.escalation_level)))
              for row in report.overdue], align=("LEFT", "LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "CENTER"))


def _holder(row: OverdueRow) -> str:
    """The person and their unit, or (unclaimed) the unit and role."""
    return f"{row.holder}（{row.unit_name}）" if row.assigned and row.unit_name else row.holder


def _ledger(pdf: _Document, report: MonthlyReport):
    summary = report.ledger
    pdf.heading("三、建议办理台账（本月召开的协商会议形成的建议）")
    if not summary.total:
        pdf.para("本月召开的协商会议没有形成意见建议。")
        return
    kinds = "、".join(f"{ADOPTION[kind]} {count}" for kind, count in summary.by_answer.items())
    cut = f"（超过 {summary.total} 条，只统计并列出前 {summary.total} 条）" if summary.truncated else ""
    pdf.para(f"共 {summary.total} 条{cut}：{kinds}。")
    pdf.heading("按承办单位")
    pdf.grid(("承办单位", "建议", "已答复", "采纳/部分采纳", "未答复", "逾期未办结"), (60, 20, 20, 30, 25, 25),
             [(line.name, line.raised, line.answered, line.adopted, line.unanswered, line.overdue)
              for line in summary.by_department], align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"))
    pdf.heading("建议明细")
    rows = sorted(summary.rows, key=lambda r: (r.meeting_date or date.min, r.instance_id, r.number))
    pdf.grid(("议题", "建议内容", "承办单位", "办理结果", "承诺办结", "满意度", "状态"), (32, 50, 28, 18, 20, 14, 18),
             [(_cut(row.topic, TOPIC_IN_LEDGER), _cut(f"{row.number}. {row.text}"),
               report.unit_names.get(row.department, row.department), ADOPTION.get(row.adoption or "none", "—"),
               _local_date(row.promised_date),
               SATISFACTION.get(row.satisfaction or "", "—"), STATUS.get(row.status, row.status))
              for row in rows])


def _local_date(day) -> str:
    return day.isoformat() if day else "—"


def _definitions(pdf: _Document):
    pdf.heading("口径说明")
    for line in DEFINITIONS:
        pdf.para(f"· {line}")
