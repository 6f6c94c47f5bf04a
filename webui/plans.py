"""年度协商计划: the year's plans and their completion (/plans), a plan with its items (/plans/<id>), an item's edit
page, the office's approval list (/plans/review), the items behind a completion number, starting a consultation
from an item and linking a consultation to one (from its case page). The rules are domain.plans' and the policy's."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.consultation import hooks as consultation_hooks
from domain.people import policy
from domain.plans import completion, views
from domain.plans.service import MAX_DESCRIPTION, MAX_ITEMS, MAX_NOTE, MAX_TITLE, ItemInput, PlanDenied, PlanError
from domain.plans.start import prefill, start_data
from engine.clock import LOCAL_TZ
from engine.errors import PermissionDenied, ValidationFailed

from . import engine_of, services_of
from .exports import table_response
from .intake import CATEGORIES
from .pickers import labelled
from .security import allowed_if, current_user

bp = Blueprint("plans", __name__, template_folder="templates")
ITEM_FIELDS = ("title", "description", "source", "hall_code", "lead_username", "target_month")


def _statuses() -> dict[str, str]:
    return {"draft": _("编制中"), "submitted": _("已报送待审批"), "approved": _("已批准"), "returned": _("已退回")}


def _measures() -> dict[str, str]:
    return {"planned": _("计划议题"), "started": _("已启动"), "held": _("已召开"), "completed": _("已办结")}


def _sources() -> dict[str, str]:
    return {"work_plan": _("年度工作要点"), "township": _("乡镇提出")}


@bp.app_context_processor
def _globals() -> dict:
    return {"plan_completion": _completion_for, "plan_link": _link_for, "plan_statuses": _statuses,
            "plan_measures": _measures}


def _this_year() -> int:
    return engine_of(current_app).clock.now().astimezone(LOCAL_TZ).year


def _year() -> tuple[int, str | None]:
    asked = request.args.get("year", "")[:6].strip()
    if not asked:
        return _this_year(), None
    if asked.isdigit() and 2000 <= int(asked) <= 2100:
        return int(asked), None
    return _this_year(), _("年度“%(text)s”无法识别：请写成 4 位年份，如 2026。", text=asked)


def _units_seen():
    return policy.figures_units(current_user())


def _completion_for(year) -> completion.YearCompletion | None:
    """The figures page's plan completion for `year` (its period's year), scoped as its other figures."""
    user = current_user()
    if not policy.may_see_plans(user) or not str(year)[:4].isdigit():
        return None
    with engine_of(current_app).reading() as session:
        return completion.compute(session, int(str(year)[:4]), policy.figures_units(user))


def _names() -> dict[str, str]:
    return {u.code: u.name for u in services_of(current_app).accounts.org_units()}


@bp.get("/plans")
@allowed_if(policy.may_see_plans)
def index():
    """The year's plans (per unit: status, items, completion) and the completion per tier and unit."""
    year, error = _year()
    user = current_user()
    with engine_of(current_app).reading() as session:
        rows = views.year_plans(session, year)
        done = completion.compute(session, year, _units_seen())
        units = [u for u in views.plan_units(session) if policy.may_edit_plan(user, u[0])]
    waiting = sum(1 for r in rows if r.status == "submitted")
    return render_template("plans/index.html", year=year, rows=rows, done=done, names=_names(), error=error,
                           units=units, waiting=waiting, may_review=policy.may_approve_plans(user)), \
        422 if error else 200


@bp.post("/plans/open")
@allowed_if(policy.may_see_plans)
def open_plan():
    """Open (or create as a draft) a unit's plan for a year."""
    year = request.form.get("year", "")[:4]
    try:
        plan_id = services_of(current_app).plans.open_plan(current_user(), int(year) if year.isdigit() else 0,
                                                           request.form.get("unit", "")[:64])
    except PlanError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("plans.index", year=year or None))
    return redirect(url_for("plans.show", plan_id=plan_id))


def _plan_page(plan_id: int, form: dict | None = None, errors: dict | None = None, status: int = 200,
               note: str = ""):
    user = current_user()
    with engine_of(current_app).reading() as session:
        plan = views.plan(session, plan_id)
        states = completion.items(session, plan.year, plan_id=plan_id)
        items = views.plan_items(session, plan_id)
        leads = views.display_names(session, [i.lead_username for i in items])
        halls = views.halls(session, plan.org_unit_code)
        done = completion.compute(session, plan.year, frozenset({plan.org_unit_code}))
        detail = {"id": plan.id, "year": plan.year, "tier": plan.tier, "unit": plan.org_unit_code,
                  "status": plan.status, "note": plan.note, "approved_by": plan.approved_by}
    may_edit = policy.may_edit_plan(user, detail["unit"]) and detail["status"] in ("draft", "returned")
    return render_template("plans/show.html", plan=detail, states=states, items={i.id: i for i in items},
                           halls=halls, members=_members() if may_edit else [], may_edit=may_edit,
                           may_review=policy.may_approve_plans(user) and detail["status"] == "submitted",
                           may_start=policy.may_link_plan_item(user, detail["unit"]) and
                           detail["status"] == "approved", form=form or {}, errors=errors or {},
                           done=done.total, names=_names(), sources=_sources(), note=note, leads=leads,
                           limits={"items": MAX_ITEMS, "title": MAX_TITLE, "description": MAX_DESCRIPTION,
                                   "note": MAX_NOTE}), status


def _members() -> list[tuple[str, str]]:
    return labelled(services_of(current_app).accounts.offered_anywhere("member"))


@bp.get("/plans/<int:plan_id>")
@allowed_if(policy.may_see_plans)
def show(plan_id: int):
    """A plan: its items with where their consultations stand; editing while draft or returned; the office's
    decision while submitted. ?format=xlsx|csv downloads its items."""
    fmt = request.args.get("format")
    return _export(plan_id, fmt) if fmt else _plan_page(plan_id)


def _export(plan_id: int, fmt: str):
    names, sources = _names(), _sources()
    with engine_of(current_app).reading() as session:
        plan = views.plan(session, plan_id)
        year, unit = plan.year, plan.org_unit_code
        items = views.plan_items(session, plan_id)
        leads = views.display_names(session, [i.lead_username for i in items])
        states = {s.item_id: s for s in completion.items(session, year, plan_id=plan_id)}
    rows = [(i.number, i.title, sources.get(i.source, i.source), names.get(i.hall_code, i.hall_code or ""),
             leads.get(i.lead_username, i.lead_username or ""), i.target_month, i.description or "",
             states[i.id].instance_id) for i in items]
    headers = [_("序号"), _("议题"), _("来源"), _("议事厅（室）"), _("牵头委员"), _("计划月份"), _("说明"),
               _("协商事项")]
    return table_response(fmt, f"{names.get(unit, unit)}-{year}年度协商计划", headers, rows, _("年度协商计划"))


def _typed() -> tuple[dict, ItemInput]:
    form = {name: request.form.get(name, "")[:MAX_DESCRIPTION + 1] for name in ITEM_FIELDS}
    return form, ItemInput(**form)


def _refused(exc: PlanError, plan_id: int, form: dict, edit_item: int | None = None):
    errors = {field: _(message) for field, message in exc.errors.items()}
    if edit_item is not None:
        return _edit_page(edit_item, form, errors)
    return _plan_page(plan_id, form, errors, 403 if isinstance(exc, PlanDenied) else 422)


@bp.post("/plans/<int:plan_id>/items")
@allowed_if(policy.may_see_plans)
def add_item(plan_id: int):
    """Add an item; a refusal shows the plan page with the message by the field and what was typed."""
    form, typed = _typed()
    try:
        services_of(current_app).plans.add_item(current_user(), plan_id, typed)
    except PlanError as exc:
        return _refused(exc, plan_id, form)
    flash(_("已添加议题：%(title)s", title=typed.title.strip()[:60]), "success")
    return redirect(url_for("plans.show", plan_id=plan_id) + "#items")


def _edit_page(item_id: int, form: dict | None = None, errors: dict | None = None):
    with engine_of(current_app).reading() as session:
        item = views.item(session, item_id)
        plan = views.plan(session, item.plan_id)
        halls = views.halls(session, plan.org_unit_code)
        values = form or {"title": item.title, "description": item.description or "", "source": item.source,
                          "hall_code": item.hall_code or "", "lead_username": item.lead_username or "",
                          "target_month": str(item.target_month)}
        context = {"item_id": item.id, "number": item.number, "plan_id": plan.id, "year": plan.year,
                   "unit": plan.org_unit_code, "tier": plan.tier}
    return render_template("plans/edit.html", item=context, form=values, errors=errors or {}, halls=halls,
                           members=_members(), sources=_sources(), names=_names(),
                           limits={"title": MAX_TITLE, "description": MAX_DESCRIPTION}), 422 if errors else 200


@bp.get("/plans/items/<int:item_id>/edit")
@allowed_if(policy.may_see_plans)
def edit_item(item_id: int):
    """The edit page of one item."""
    return _edit_page(item_id)


@bp.post("/plans/items/<int:item_id>")
@allowed_if(policy.may_see_plans)
def update_item(item_id: int):
    """Save an item's changes."""
    form, typed = _typed()
    try:
        services_of(current_app).plans.update_item(current_user(), item_id, typed)
    except PlanError as exc:
        return _refused(exc, 0, form, edit_item=item_id)
    with engine_of(current_app).reading() as session:
        plan_id = views.item(session, item_id).plan_id
    flash(_("已保存议题。"), "success")
    return redirect(url_for("plans.show", plan_id=plan_id) + "#items")


@bp.post("/plans/items/<int:item_id>/<any(up, down, remove):action>")
@allowed_if(policy.may_see_plans)
def item_action(item_id: int, action: str):
    """Move an item up or down, or remove it."""
    with engine_of(current_app).reading() as session:
        plan_id = views.item(session, item_id).plan_id
    plans = services_of(current_app).plans
    try:
        if action == "remove":
            plans.remove_item(current_user(), item_id)
        else:
            plans.move_item(current_user(), item_id, -1 if action == "up" else 1)
    except PlanError as exc:
        flash(_(exc.message), "error")
    return redirect(url_for("plans.show", plan_id=plan_id) + "#items")


@bp.post("/plans/<int:plan_id>/<any(submit, approve, return):action>")
@allowed_if(policy.may_see_plans)
def transition(plan_id: int, action: str):
    """Submit (the unit), approve or return with a reason (the county CPPCC office)."""
    plans, user, reason = services_of(current_app).plans, current_user(), request.form.get("note", "")[:2000]
    try:
        {"submit": lambda: plans.submit(user, plan_id), "approve": lambda: plans.approve(user, plan_id),
         "return": lambda: plans.return_plan(user, plan_id, reason)}[action]()
    except PlanError as exc:
        return _refused(exc, plan_id, {}) if action != "return" else \
            _plan_page(plan_id, errors={exc.field or "plan": _(exc.message)}, status=422, note=reason)
    words = {"submit": _("计划已报送县政协办公室审批。"), "approve": _("计划已批准。"), "return": _("计划已退回。")}
    flash(words[action], "success")
    return redirect(url_for("plans.review") if action != "submit" else url_for("plans.show", plan_id=plan_id))


@bp.get("/plans/review")
@allowed_if(policy.may_approve_plans)
def review():
    """The office's approval list: the plans waiting for its decision, any year."""
    with engine_of(current_app).reading() as session:
        years = sorted({r for r in range(_this_year() - 1, _this_year() + 2)})
        waiting = [row for year in years for row in views.year_plans(session, year) if row.status == "submitted"]
    return render_template("plans/review.html", rows=waiting, names=_names())


@bp.get("/plans/completion")
@allowed_if(policy.may_see_plans)
def behind():
    """The items behind one completion number (a tier and/or a unit, and a measure)."""
    year, error = _year()
    measure = request.args.get("measure") if request.args.get("measure") in completion.MEASURES else "planned"
    tier = request.args.get("tier") if request.args.get("tier") in completion.TIERS else None
    unit = request.args.get("unit", "")[:64] or None
    with engine_of(current_app).reading() as session:
        rows = completion.items(session, year, _units_seen(), tier, unit, measure)
    return render_template("plans/behind.html", rows=rows, year=year, measure=measure, tier=tier, unit=unit,
                           names=_names(), error=error)


# --- consultations carrying out a plan item ----------------------------------------------------------------------
@bp.route("/plans/items/<int:item_id>/start", methods=["GET", "POST"])
@allowed_if(policy.may_see_plans)
def start(item_id: int):
    """Start a consultation from an approved plan item: its topic prefilled, the plan's tier routing it."""
    engine = engine_of(current_app)
    with engine.reading() as session:
        item = views.item(session, item_id)
        form, plan_id = prefill(item), item.plan_id
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: request.form.get(name, "").strip()[:2001] for name in ("title", "description", "category")}
        with engine.reading() as session:
            data = start_data(session, item_id, **form)
        try:
            instance_id = engine.start_instance(consultation_hooks.PROCESS_ID, data, current_user().username)
        except ValidationFailed as exc:
            errors = {field: _(messages[0].split(" (")[0]) for field, messages in exc.field_errors.items()}
        except PermissionDenied as exc:
            errors = {"plan_item": str(exc).split(" (")[0]}
        else:
            flash(_("已从年度计划发起协商事项。"), "success")
            return redirect(url_for("instances.detail", instance_id=instance_id))
    return render_template("plans/start.html", item=item, plan_id=plan_id, form=form, errors=errors,
                           categories=CATEGORIES), 422 if errors else 200


def _link_for(instance_id: int) -> dict | None:
    """The case page's plan part: the item the consultation carries out, and the items it may be linked to."""
    user = current_user()
    if user is None:
        return None
    with engine_of(current_app).reading() as session:
        linked = views.linked_item(session, instance_id)
        if linked is not None:
            item, plan = linked
            return {"item": {"id": item.id, "number": item.number, "title": item.title}, "plan_id": plan.id,
                    "year": plan.year, "unit": plan.org_unit_code,
                    "may_unlink": policy.may_link_plan_item(user, plan.org_unit_code)}
        units = None if policy.may_approve_plans(user) else frozenset(
            org for role, org in user.memberships if role in policy.PLAN_EDITORS)
        if units is not None and not units:
            return None
        year = _this_year()
        choices = views.linkable_items(session, year, units) + views.linkable_items(session, year - 1, units)
    return {"item": None, "choices": choices} if choices else None


@bp.post("/plans/link")
@allowed_if(policy.may_see_plans)
def link():
    """Link the case's consultation to a plan item, or unlink it (`item` empty)."""
    instance_id = request.form.get("instance_id", "")
    item = request.form.get("item", "")
    if not instance_id.isdigit():
        abort(400)
    plans = services_of(current_app).plans
    try:
        if item.isdigit():
            plans.link(current_user(), int(instance_id), int(item))
            flash(_("已关联年度计划议题。"), "success")
        else:
            plans.unlink(current_user(), int(instance_id))
            flash(_("已解除与年度计划议题的关联。"), "success")
    except PlanError as exc:
        flash(_(exc.message), "error")
    back = request.form.get("next", "")
    if back.startswith("/tasks/") and "//" not in back:       # the triage task's page, never another site
        return redirect(back)
    return redirect(url_for("instances.detail", instance_id=int(instance_id)) + "#plan-link")
