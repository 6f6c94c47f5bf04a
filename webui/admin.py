"""Administration: people, their roles in org units (memberships), and the org units themselves."""

from __future__ import annotations

from math import ceil

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from domain.consultation.vocabulary import TIER_LEVEL_NAMES
from domain.people import policy, roles
from domain.people.accounts import CODE_TAKEN, ORG_KINDS, PARENT_BELOW, ROLES, OrgUnitView
from engine.errors import InvalidState, ValidationFailed

from . import engine_of, security, services_of
from .params import page_arg
from .security import allowed_if

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

PER_PAGE = 50
ROLE_NAMES = {code: lazy_gettext(name) for code, name in roles.ROLE_NAMES.items()}     # the directory's words
KIND_NAMES = {"county": lazy_gettext("县政协"), "committee": lazy_gettext("专门委员会"),
              "sector": lazy_gettext("界别"), "township": lazy_gettext("乡镇"),
              "village": lazy_gettext("村（社区）"), "hall": lazy_gettext("议事厅（室）"),
              "department": lazy_gettext("承办单位")}
# The service's messages about where a unit goes, as this page has always worded them (translated, one language).
PLACEMENT = {CODE_TAKEN: lazy_gettext("编码已存在"), PARENT_BELOW: lazy_gettext("上级不能是本单位或其下级")}
TIER_NAMES = {code: lazy_gettext(name) for code, name in TIER_LEVEL_NAMES.items()}   # the method's vocabulary


@bp.context_processor
def _names():
    return {"role_names": ROLE_NAMES, "kind_names": KIND_NAMES, "tier_names": TIER_NAMES, "roles": ROLES}


def _accounts():
    return services_of(current_app).accounts


def _required() -> list[str]:
    return [gettext("此项为必填项")]


def _directory() -> dict:
    """Org units grouped by kind (in ORG_KINDS order), and each unit's label (villages name their township)."""
    units = _accounts().org_units()
    names = {u.code: u.name for u in units}
    labels = {u.code: f"{u.name} · {names.get(u.parent, u.parent)}" if u.kind in ("village", "hall") else u.name
              for u in units}
    groups = [(kind, [u for u in units if u.kind == kind]) for kind in ORG_KINDS]
    return {"units": units, "unit_names": names, "unit_labels": labels, "groups": [g for g in groups if g[1]]}


# --- people ---------------------------------------------------------------------------------------
@bp.get("/users")
@allowed_if(policy.may_administer)
def users():
    """Everyone, searchable by username or name, a page at a time."""
    search = request.args.get("q", "").strip()[:100]
    page = page_arg()
    people, total = _accounts().users(search, page, PER_PAGE)
    return render_template("admin/users.html", people=people, total=total, page=page, search=search,
                           pages=max(ceil(total / PER_PAGE), 1), unit_names=_directory()["unit_names"])


@bp.route("/users/new", methods=["GET", "POST"])
@allowed_if(policy.may_administer)
def user_new():
    """Create an account; roles are granted on its page next."""
    form = request.form
    if request.method == "GET":
        return render_template("admin/user_new.html", form={}, errors={})
    try:
        person = _accounts().create_user(g.user, form.get("username", "").strip(), form.get("display_name", ""),
                                         form.get("password", ""))
    except ValidationFailed as error:
        return render_template("admin/user_new.html", form=form, errors=error.field_errors), 422
    flash(gettext("已创建用户 %(name)s，请为其授予角色。", name=person.display_name), "success")
    return redirect(url_for(".user_edit", username=person.username))


def _edit_page(username: str, values: dict | None = None, errors: dict | None = None,
               grant: dict | None = None, grant_errors: dict | None = None, status: int = 200):
    person = _accounts().user(username)
    values = values or {"display_name": person.display_name, "active": person.active}
    open_tasks = len(engine_of(current_app).list_tasks(actor=username))
    return render_template("admin/user_edit.html", person=person, values=values, errors=errors or {},
                           grant=grant or {}, grant_errors=grant_errors or {}, open_tasks=open_tasks,
                           tokens=_accounts().tokens_of(g.user, username),
                           **_directory()), status


@bp.route("/users/<username>", methods=["GET", "POST"])
@allowed_if(policy.may_administer)
def user_edit(username: str):
    """A person's name, active flag and password, with their memberships."""
    if request.method == "GET":
        return _edit_page(username)
    form = request.form
    values = {"display_name": form.get("display_name", ""), "active": "active" in form}
    if not values["display_name"].strip():
        return _edit_page(username, values, {"display_name": _required()}, status=422)
    try:
        _accounts().update_user(g.user, username, display_name=values["display_name"], active=values["active"],
                                password=form.get("password") or None)
    except ValidationFailed as error:
        return _edit_page(username, values, error.field_errors, status=422)
    except InvalidState as error:
        return _edit_page(username, values, {"active": [error.message]}, status=409)
    _keep_own_session(username)
    flash(gettext("已保存"), "success")
    return redirect(url_for(".user_edit", username=username))


@bp.post("/users/<username>/grant")
@allowed_if(policy.may_administer)
def user_grant(username: str):
    """Give the person a role in an org unit; open tasks of that role reach them at once."""
    grant = {"role": request.form.get("role", ""), "org_unit": request.form.get("org_unit", "")}
    missing = {field: _required() for field, value in grant.items() if not value}
    if missing:
        return _edit_page(username, grant=grant, grant_errors=missing, status=422)
    try:
        _accounts().grant(g.user, username, grant["role"], grant["org_unit"])
    except ValidationFailed as error:
        return _edit_page(username, grant=grant, grant_errors=error.field_errors, status=422)
    flash(gettext("已授予角色：%(role)s", role=ROLE_NAMES[grant["role"]]), "success")
    return redirect(url_for(".user_edit", username=username))


@bp.post("/users/<username>/revoke")
@allowed_if(policy.may_administer)
def user_revoke(username: str):
    """Take a role away; tasks the person had only through it leave their inbox at once."""
    role, org_unit = request.form.get("role", ""), request.form.get("org_unit", "")
    try:
        _accounts().revoke(g.user, username, role, org_unit)
    except InvalidState as error:
        flash(error.message, "error")
    else:
        _keep_own_session(username)
        flash(gettext("已撤销角色：%(role)s", role=ROLE_NAMES.get(role, role)), "success")
    return redirect(url_for(".user_edit", username=username))


def _keep_own_session(username: str) -> None:
    """An admin who reset their own password or dropped one of their roles ended their sessions with it: this
    one goes on, in the new generation (their other sessions and tokens stay ended)."""
    if username == g.user.username:
        security.sign_in(_accounts().user(username))


# --- org units ------------------------------------------------------------------------------------
@bp.get("/org-units")
@allowed_if(policy.may_administer)
def org_units():
    """Org units by kind, with how many people hold roles in each."""
    return render_template("admin/org_units.html", counts=_accounts().people_per_org_unit(), **_directory())


def _save_org_unit(unit: OrgUnitView | None, directory: dict):
    """Save the posted org unit (new when `unit` is None); re-render with messages when it is refused."""
    form = request.form
    values = {key: form.get(key, "").strip() for key in ("code", "name", "kind", "parent", "tier")}
    if unit is not None:
        values["code"] = unit.code
    try:
        saved = _accounts().save_org_unit(g.user, values["code"], values["name"], values["kind"],
                                          values["parent"] or None, values["tier"] or None, new=unit is None)
    except ValidationFailed as error:
        errors = {field: [str(PLACEMENT.get(m, m)) for m in messages] for field, messages in error.field_errors.items()}
        return render_template("admin/org_unit_form.html", unit=unit, values=values, errors=errors, **directory), 422
    flash(gettext("已保存"), "success")
    return redirect(url_for(".org_units", _anchor=f"kind-{saved.kind}"))


@bp.route("/org-units/new", methods=["GET", "POST"])
@allowed_if(policy.may_administer)
def org_unit_new():
    """Create an org unit."""
    directory = _directory()
    if request.method == "POST":
        return _save_org_unit(None, directory)
    values = {"kind": request.args.get("kind", ""), "parent": request.args.get("parent", "")}
    return render_template("admin/org_unit_form.html", unit=None, values=values, errors={}, **directory)


@bp.route("/org-units/<code>", methods=["GET", "POST"])
@allowed_if(policy.may_administer)
def org_unit_edit(code: str):
    """Rename or move an org unit (its code stays)."""
    directory = _directory()
    unit = next((u for u in directory["units"] if u.code == code), None)
    if unit is None:
        abort(404)
    if request.method == "POST":
        return _save_org_unit(unit, directory)
    values = {"code": unit.code, "name": unit.name, "kind": unit.kind, "parent": unit.parent or "",
              "tier": unit.tier or ""}
    return render_template("admin/org_unit_form.html", unit=unit, values=values, errors={}, **directory)
