"""线上社情民意直通车: anyone submits a topic without signing in and follows it with a tracking code."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from domain.consultation import hooks as consultation_hooks
from domain.consultation.public import normalize_code
from domain.consultation.records import tracking_code
from engine.errors import ValidationFailed

from . import engine_of, ratelimit, services_of

bp = Blueprint("intake", __name__, template_folder="templates")

HONEYPOT = "website"
RECEIPT = "intake_receipt"
FIELDS = ("title", "description", "category", "scope", "township", "village", "contact_name", "contact_phone")
CATEGORIES = (("infrastructure", "城乡建设"), ("transport", "交通出行"), ("education", "教育"), ("health", "医疗卫生"),
              ("elderly", "养老服务"), ("agriculture", "农业农村"), ("environment", "生态环境"),
              ("economy", "产业发展"), ("governance", "基层治理"), ("other", "其他"))
SCOPES = (("village", "本村（社区）"), ("township", "本乡镇"), ("multi_township", "跨乡镇"), ("county", "全县"))
TOWNSHIPS = (("township_xunchang", "巡场镇"), ("township_gongquan", "珙泉镇"), ("township_xiaoer", "孝儿镇"),
             ("township_didong", "底洞镇"), ("township_shangluo", "上罗镇"), ("township_luobiao", "洛表镇"),
             ("township_luohai", "洛亥镇"), ("township_wangjia", "王家镇"), ("township_mutan", "沐滩镇"),
             ("township_caoying", "曹营镇"), ("township_luodu", "罗渡苗族乡"), ("township_guandou", "观斗苗族乡"),
             ("township_yuhe", "玉和苗族乡"))
DEFAULT_LIMITS = {"INTAKE_RATE_LIMIT": (5, 600), "TRACK_RATE_LIMIT": (30, 600)}   # (hits, seconds) per client IP


@bp.record_once
def _install_limiter(state) -> None:
    ratelimit.install(state.app)


@bp.context_processor
def _helpers() -> dict:
    # Labels that come from data (step names, org units, form choices) are translated here, as plain text that
    # Jinja escapes: a template's own _() would take them for markup and for a format string.
    return {"label_of": lambda text: _(text) if text else ""}


@bp.route("/intake", methods=["GET", "POST"])
def submit():
    """The public form; a valid topic starts a consultation and leads to the receipt with its tracking code."""
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        limited = _limited("INTAKE_RATE_LIMIT")
        if limited:
            return limited
        if request.form.get(HONEYPOT):   # only robots fill the hidden field: pretend, store nothing
            return _to_receipt(tracking_code(), form["title"])
        try:
            receipt = consultation_hooks.submit_intake(engine_of(current_app), _submission(form))
        except ValidationFailed as exc:
            errors = {field: [_friendly(field, m) for m in messages] for field, messages in exc.field_errors.items()}
        else:
            return _to_receipt(receipt.tracking_code, form["title"])
    return render_template("intake/submit.html", form=form, errors=errors, categories=CATEGORIES, scopes=SCOPES,
                           townships=TOWNSHIPS, honeypot=HONEYPOT), 422 if errors else 200


@bp.get("/intake/receipt")
def receipt():
    """The tracking code of the topic this browser just submitted (kept in its session, never in a URL query)."""
    kept = session.get(RECEIPT)
    if not kept:
        return redirect(url_for("intake.submit"))
    response = current_app.make_response(render_template("intake/receipt.html", code=kept["code"],
                                                         title=kept["title"]))
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
    limited = _limited("TRACK_RATE_LIMIT")
    if limited:
        return limited
    progress = services_of(current_app).participation.track(code)
    if progress is None:
        return render_template("intake/track.html", code=code, not_found=True), 404
    if progress.tracking_code != code:
        return redirect(url_for("intake.track", code=progress.tracking_code))
    return render_template("intake/progress.html", progress=progress)


def _submission(form: dict[str, str]) -> dict[str, str]:
    """What the person filled in (empty optional fields left out), from the online channel."""
    data = {name: value for name, value in form.items() if value}
    if "contact_phone" in data:
        data["contact_phone"] = re.sub(r"\s", "", data["contact_phone"])
    return data | {"source": "online"}


def _to_receipt(code: str, title: str):
    """POST-redirect-GET: the code travels in the session, so it is in no address anyone copies or logs."""
    session[RECEIPT] = {"code": code, "title": title[:60]}
    return redirect(url_for("intake.receipt"))


def _limited(setting: str):
    """None while the client's IP is within the limit; else the 429 page saying when to try again."""
    hits, seconds = current_app.config.get(setting, DEFAULT_LIMITS[setting])
    limiter = ratelimit.limiter_of(current_app)
    if limiter.hit(f"{setting}:{request.remote_addr}", hits, seconds):
        return None
    wait = limiter.retry_after(seconds)
    page = render_template("intake/limited.html", minutes=-(-wait // 60), seconds=wait,
                           tracking=setting == "TRACK_RATE_LIMIT")
    return page, 429, {"Retry-After": str(wait)}


_LENGTH = re.compile(r"^(至少需要|不能超过) (\d+) 个字")


def _friendly(field: str, message: str) -> str:
    """The engine's message in the reader's language, without the validator's technical detail."""
    head = message.split(" (")[0]
    length = _LENGTH.match(head)
    if length:
        limit = int(length.group(2))
        return _("至少需要 %(n)d 个字", n=limit) if length.group(1) == "至少需要" else _("不能超过 %(n)d 个字", n=limit)
    if field == "contact_phone" and head.startswith("格式不正确"):
        return _("请填写 11 位手机号，或带区号的固定电话（如 0831-1234567）")
    known = {"此项为必填项": _("此项为必填项"), "请从给定选项中选择": _("请从给定选项中选择")}
    return known.get(head, head)
