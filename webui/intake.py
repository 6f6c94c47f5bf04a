"""Every way a topic comes in: 线上社情民意直通车 (anyone, without signing in, follows it with a tracking code), a
member's own topic (提出协商议题, credited to them) and what the office or an organizer records for a resident
(代群众登记: from a hall, a visit, a phone call); and the public tracking page."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from domain.consultation import hooks as consultation_hooks
from domain.consultation.intake import (
    TOWNSHIP_NOT_OWN,
    VILLAGE_ELSEWHERE,
    VILLAGE_UNKNOWN,
    VILLAGE_WITHOUT_TOWNSHIP,
    raised_by,
    village_problem,
    villages_by_township,
)
from domain.consultation.public import normalize_code
from domain.consultation.records import tracking_code
from domain.consultation.vocabulary import PUBLIC_STATUS_NAMES, RESIDENT_SOURCES, SOURCES
from domain.people import policy
from engine.bpmn.forms import clean_submission
from engine.errors import ValidationFailed

from . import engine_of, gates, services_of
from .security import allowed_if, current_user

bp = Blueprint("intake", __name__, template_folder="templates")

HONEYPOT = "website"
RECEIPT = "intake_receipt"
PROCESS_ID = consultation_hooks.PROCESS_ID
TOPIC_FIELDS = ("title", "description", "category", "scope", "township", "village")
FIELDS = (*TOPIC_FIELDS, "contact_name", "contact_phone")                 # the public's
MEMBER_FIELDS = TOPIC_FIELDS                                               # a member is known: no contact asked
RESIDENT_FIELDS = (*TOPIC_FIELDS, "source", "contact_name", "contact_phone")   # recorded for a resident
REQUIRED = "此项为必填项"
LIMIT = 4000        # no field of the intake form is longer than its 2000-character description
SOURCES_BY_CODE = tuple((term.code, term.zh) for term in SOURCES)
RESIDENT_SOURCE_CHOICES = tuple((term.code, term.zh) for term in SOURCES if term.code in RESIDENT_SOURCES)
CATEGORIES = (("infrastructure", "城乡建设"), ("transport", "交通出行"), ("education", "教育"), ("health", "医疗卫生"),
              ("elderly", "养老服务"), ("agriculture", "农业农村"), ("environment", "生态环境"),
              ("economy", "产业发展"), ("governance", "基层治理"), ("other", "其他"))
SCOPES = (("village", "本村（社区）"), ("township", "本乡镇"), ("multi_township", "跨乡镇"), ("county", "全县"))
TOWNSHIPS = (("township_xunchang", "巡场镇"), ("township_gongquan", "珙泉镇"), ("township_xiaoer", "孝儿镇"),
             ("township_didong", "底洞镇"), ("township_shangluo", "上罗镇"), ("township_luobiao", "洛表镇"),
             ("township_luohai", "洛亥镇"), ("township_wangjia", "王家镇"), ("township_mutan", "沐滩镇"),
             ("township_caoying", "曹营镇"), ("township_luodu", "罗渡苗族乡"), ("township_guandou", "观斗苗族乡"),
             ("township_yuhe", "玉和苗族乡"))
ANONYMOUS_SOURCE = "anonymous_source"
ANONYMOUS_FIELD = "anonymous_field"

@bp.context_processor
def _helpers() -> dict:
    # Labels that come from data (step names, org units, form choices) are translated here, as plain text that
    # Jinja escapes: a template's own _() would take them for markup and for a format string.
    return {"label_of": lambda text: _(text) if text else ""}


@bp.route("/intake", methods=["GET", "POST"])
def submit():
    """The public form; a valid topic starts a consultation and leads to the receipt with its tracking code."""
    form = _read(FIELDS)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        refusal = gates.gates_of().pass_through("intake", gates.address())
        if refusal is not None:
            return gates.too_many(refusal)
        if request.form.get(HONEYPOT):   # only robots fill the hidden field: pretend, store nothing
            return _to_receipt(tracking_code(), form["title"])
        errors, receipt = _start(_submission(form, "online"), None)
        if receipt is not None:
            return _to_receipt(receipt.tracking_code, form["title"])
    user = current_user()
    may_propose = user is not None and policy.may_propose_topic(user.memberships)
    return _page("intake/submit.html", form, errors, honeypot=HONEYPOT, may_propose=may_propose)


@bp.route("/intake/propose", methods=["GET", "POST"])
@allowed_if(lambda user: policy.may_propose_topic(user.memberships))
def propose():
    """提出协商议题: a member raises a topic of their own, credited to them (no contact needed: they are known)."""
    user = current_user()
    form = _read(MEMBER_FIELDS)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        errors, receipt = _start(_submission(form, "member") | {"proposer": user.username}, user.username)
        if receipt is not None:
            return _to_receipt(receipt.tracking_code, form["title"], "member", instance_id=receipt.instance_id)
    return _page("intake/propose.html", form, errors, mine=_raised(user.username, ("member",)))


@bp.route("/intake/record", methods=["GET", "POST"])
@allowed_if(lambda user: policy.may_record_for_residents(user.memberships))
def record():
    """代群众登记: the office or an organizer records what a resident raised at a hall, on a visit or by phone; the
    recorder is who starts it, the resident (name and phone) is the proposer."""
    user = current_user()
    townships = _townships_for(user)
    form = _read(RESIDENT_FIELDS)
    if request.method == "GET" and len(townships) == 1:
        form["township"] = townships[0][0]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        source = form["source"] if form["source"] in RESIDENT_SOURCES else ""
        errors, receipt = _start(_submission(form, source) | {"recorded_by": user.username}, user.username,
                                 required=("source", "contact_name"))
        if receipt is not None:
            return _to_receipt(receipt.tracking_code, form["title"], "resident", instance_id=receipt.instance_id,
                               resident=form["contact_name"])
    return _page("intake/record.html", form, errors, townships=townships, sources=RESIDENT_SOURCE_CHOICES,
                 mine=_raised(user.username, RESIDENT_SOURCES))


@bp.get("/intake/receipt")
def receipt():
    """The tracking code of the topic this browser just submitted (kept in its session, never in a URL query)."""
    kept = session.get(RECEIPT)
    if not kept:
        return redirect(url_for("intake.submit"))
    response = current_app.make_response(render_template("intake/receipt.html", receipt=kept))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/track", defaults={"code": None})
@bp.get("/track/<code>")
def track(code: str | None):
    """Enter a tracking code; a known code shows the topic's public progress and published results."""
    asked = request.args.get("code", "").strip()
    if code is None and asked:
        return redirect(url_for("intake.track", code=normalize_code(asked) or asked[:40]))
    if code is None:
        return render_template("intake/track.html", code="", not_found=False)
    refusal = gates.gates_of().pass_through("track", gates.address())
    if refusal is not None:
        return gates.too_many(refusal)
    progress = services_of(current_app).participation.track(code)
    if progress is None:
        return render_template("intake/track.html", code=code, not_found=True), 404
    if progress.tracking_code != code:
        return redirect(url_for("intake.track", code=progress.tracking_code))
    return render_template("intake/progress.html", progress=progress)


def _read(fields: tuple[str, ...]) -> dict[str, str]:
    """The posted fields, trimmed and cut to their form's bounds (a longer value is refused by the schema)."""
    return {name: request.form.get(name, "").strip()[:LIMIT] for name in fields}


def _submission(form: dict[str, str], source: str) -> dict[str, str]:
    """What the person filled in (empty optional fields left out), with where it came from."""
    data = {name: value for name, value in form.items() if value and name != "source"}
    if "contact_phone" in data:
        data["contact_phone"] = re.sub(r"\s", "", data["contact_phone"])
    return data | {"source": source}


def _start(data: dict, actor: str | None, required: tuple[str, ...] = ()) -> tuple[dict[str, list[str]], object]:
    """Start the consultation, or the messages by field: the village (checked against the directory) and the
    fields this page requires whatever else was chosen are checked first, so their messages come with the form's."""
    errors = _village_errors(data) | {name: [REQUIRED] for name in required if not data.get(name)}
    if errors:
        try:
            clean_submission(engine_of(current_app).startable_process(PROCESS_ID).form, data)
        except ValidationFailed as exc:
            errors = exc.field_errors | errors
        return _friendly_all(errors), None
    try:
        receipt = consultation_hooks.submit_intake(engine_of(current_app), data, actor)
    except ValidationFailed as exc:
        return _friendly_all(exc.field_errors), None
    return {}, receipt


def _village_errors(data: dict) -> dict[str, list[str]]:
    problem = village_problem(_villages(), data) if data.get("village") else None
    return {"village": [problem]} if problem else {}


def _raised(username: str, sources: tuple[str, ...]):
    with engine_of(current_app).reading() as session:
        return raised_by(session, username, sources)


def _villages() -> dict[str, list[tuple[str, str]]]:
    with engine_of(current_app).reading() as session:
        return villages_by_township(session)


def _townships_for(user) -> list[tuple[str, str]]:
    """The townships a recorder may choose: all, or a township organizer's own."""
    allowed = policy.recording_townships(user.memberships, [code for code, _ in TOWNSHIPS])
    return [t for t in TOWNSHIPS if allowed is None or t[0] in allowed]


def _page(template: str, form: dict, errors: dict, **extra):
    """One of the intake forms, with the directory's villages grouped by township."""
    townships = extra.pop("townships", TOWNSHIPS)
    villages = _villages()
    groups = [(code, name, villages.get(code, [])) for code, name in townships]
    return render_template(template, form=form, errors=errors, categories=CATEGORIES, scopes=SCOPES,
                           townships=townships, village_groups=groups, status_names=PUBLIC_STATUS_NAMES,
                           source_names=dict(SOURCES_BY_CODE), **extra), 422 if errors else 200


def _to_receipt(code: str, title: str, kind: str = "public", **more):
    """POST-redirect-GET: the code travels in the session, so it is in no address anyone copies or logs."""
    session[RECEIPT] = {"code": code, "title": title[:60], "kind": kind, **more}
    return redirect(url_for("intake.receipt"))


def api_submission(data: dict, user) -> tuple[dict, dict[str, list[str]]]:
    """The API twin of the forms: what `data` may start for `user` (None: anonymous), or the fields it may not set.

    Anonymous callers get the public form's fields with the source `online`, as on /intake; a member's own topic
    (`member`) and what is recorded for a resident (hall, visit, phone, other) need the same roles as their pages,
    and name the caller as proposer or recorder."""
    source = data.get("source") or "online"
    if user is None:
        extra = sorted(set(data) - set(FIELDS) - {"source"})
        errors = {name: [ANONYMOUS_FIELD] for name in extra}
        if source != "online":
            errors["source"] = [ANONYMOUS_SOURCE]
        return data | {"source": "online"}, errors
    topic = {k: v for k, v in data.items() if k not in ("proposer", "recorded_by")} | {"source": source}
    if source == "member" and policy.may_propose_topic(user.memberships):
        return topic | {"proposer": user.username}, {}
    if source in RESIDENT_SOURCES and policy.may_record_for_residents(user.memberships):
        return topic | {"recorded_by": user.username}, {}
    if source == "online":
        return topic, {}
    return topic, {"source": [ANONYMOUS_SOURCE]}


def api_messages(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The API twin's refusals, Chinese first with English, as the API's other messages."""
    text = {ANONYMOUS_SOURCE: "未登录或无相应角色时只能以“线上直通车”提交 (without the role the source must be online)",
            ANONYMOUS_FIELD: "公开提交不能填写此项 (a public submission may not set this field)"}
    return {field: [text[m] for m in messages] for field, messages in errors.items()}


_LENGTH = re.compile(r"^(至少需要|不能超过) (\d+) 个字")


def _friendly_all(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {field: [_friendly(field, m) for m in messages] for field, messages in errors.items()}


def _friendly(field: str, message: str) -> str:
    """The engine's message in the reader's language, without the validator's technical detail."""
    head = _head(message)
    length = _LENGTH.match(head)
    if length:
        limit = int(length.group(2))
        return _("至少需要 %(n)d 个字", n=limit) if length.group(1) == "至少需要" else _("不能超过 %(n)d 个字", n=limit)
    if field == "contact_phone" and head.startswith("格式不正确"):
        return _("请填写 11 位手机号，或带区号的固定电话（如 0831-1234567）")
    known = {"此项为必填项": _("此项为必填项"), "请从给定选项中选择": _("请从给定选项中选择"),
             _head(VILLAGE_UNKNOWN): _("请从所选乡镇的村（社区）列表中选择"),
             _head(VILLAGE_WITHOUT_TOWNSHIP): _("请先选择村（社区）所在的乡镇"),
             _head(VILLAGE_ELSEWHERE): _("所选村（社区）不属于所选乡镇"),
             _head(TOWNSHIP_NOT_OWN): _("您只能登记本乡镇群众反映的事项")}
    return known.get(head, head)


def _head(message: str) -> str:
    return message.split(" (")[0]
