"""The signed-in person's own account: their API tokens (issue, list with last use, revoke) and their password."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from engine.errors import NotFound, ValidationFailed

from . import security, services_of
from .security import login_required

bp = Blueprint("account", __name__, url_prefix="/account", template_folder="templates")

LABEL_LIMIT = 100
PASSWORD_LIMIT = 200


def _accounts():
    return services_of(current_app).accounts


def _tokens_page(new_token: str | None = None, label: str = "", errors: dict | None = None, status: int = 200):
    page = render_template("account/tokens.html", tokens=_accounts().tokens_of(g.user), new_token=new_token,
                           label=label, errors=errors or {},
                           lifetime_days=_accounts().token_lifetime.days)
    return page, status, {"Cache-Control": "no-store"}       # a new token is shown once, never from a cache


@bp.get("/tokens")
@login_required
def tokens():
    """My API tokens: when each was made, expires and was last used, with a revoke button each."""
    return _tokens_page()


@bp.post("/tokens")
@login_required
def issue():
    """Issue a token for me; it is shown on this page once (only its hash is kept)."""
    label = request.form.get("label", "").strip()
    if not label or len(label) > LABEL_LIMIT or "\x00" in label:
        message = gettext("请填写用途，最多 %(n)d 个字", n=LABEL_LIMIT)
        return _tokens_page(label=label[:LABEL_LIMIT], errors={"label": [message]}, status=422)
    token, _view = _accounts().new_token(g.user.username, label)
    return _tokens_page(new_token=token)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one token (mine, or anyone's for an admin); it stops working at once."""
    try:
        view = _accounts().revoke_token(g.user, token_id)
    except NotFound:
        abort(404)
    flash(gettext("已撤销令牌“%(label)s”。", label=view.label), "success")
    if view.username != g.user.username:
        return redirect(url_for("admin.user_edit", username=view.username, _anchor="tokens"))
    return redirect(url_for(".tokens"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change my password: my other sessions and my API tokens end; this session goes on."""
    if request.method == "GET":
        return render_template("account/password.html", errors={})
    form = {name: request.form.get(name, "")[:PASSWORD_LIMIT]
            for name in ("current_password", "new_password", "confirm_password")}
    if form["new_password"] != form["confirm_password"]:
        return render_template("account/password.html",
                               errors={"confirm_password": [gettext("两次输入的新密码不一致")]}), 422
    try:
        user = _accounts().change_password(g.user.username, form["current_password"], form["new_password"])
    except ValidationFailed as error:
        return render_template("account/password.html", errors=error.field_errors), 422
    security.sign_in(user)
    flash(gettext("密码已修改。其他设备上的登录和所有 API 令牌已失效。"), "success")
    return redirect(url_for(".tokens"))
