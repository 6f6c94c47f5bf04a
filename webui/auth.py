"""Sign in, sign out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from . import gates, security
from .i18n import LANGUAGES

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths (no open redirects)."""
    if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/") \
            or target.startswith("//"):
        return url_for("overview.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form."""
    error = None
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        refusal = gates.sign_in_refused(username)
        if refusal is not None:       # the form again, the name kept, saying how long to wait
            error = _("登录失败次数过多，请在 %(minutes)d 分钟后再试。忘记密码请联系管理员重置。",
                      minutes=refusal.minutes)
            page = render_template("auth/login.html", error=error, username=username)
            return page, 429, {"Retry-After": str(refusal.wait)}
        user = current_app.extensions["xieshang"].accounts.authenticate(username, request.form.get("password", ""))
        if user is not None:
            gates.sign_in_succeeded(username)
            security.sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
        gates.sign_in_failed(username)
        error = _("用户名或密码不正确。")
    return render_template("auth/login.html", error=error, username=username), 401 if error else 200


@bp.post("/logout")
def logout():
    """Sign out everywhere: this person's other sessions and API tokens end too."""
    user = security.current_user()
    if user is not None:
        current_app.extensions["xieshang"].accounts.end_sessions(user.username)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language for this person."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
