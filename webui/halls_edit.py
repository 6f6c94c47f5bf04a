"""Keeping a hall: its profile and contacts, photos, members assigned, and the four evidenced 七有 items (the
township submits with a note and files, the county office confirms or returns with a reason). Each refusal shows the
hall's page again with the message and what was typed."""

from __future__ import annotations

import os

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.halls import registry, standard
from domain.halls.registry import Contact
from domain.halls.standard import Refused
from domain.people import policy
from domain.work.uploads import NewFile, QuotaExceeded, new_id

from . import engine_of, services_of
from .files import quota_message
from .formparse import check_upload
from .halls import capacity_names, hall_or_404, item_names, render_hall
from .security import allowed_if, current_user

bp = Blueprint("halls_edit", __name__, template_folder="templates")
FILES_PER_POST = 5


def refusals() -> dict[str, str]:
    """Why a change was refused, in the reader's language."""
    return {"empty": _("请填写说明或上传证明材料"),
            "note_long": _("说明不能超过 %(n)d 字", n=standard.NOTE_MAX),
            "confirmed": _("该项已确认，无需再次提交"),
            "not_submitted": _("该项不在待确认状态（可能已被他人处理），请刷新后再看"),
            "no_reason": _("退回时请写明原因"), "reason_long": _("原因不能超过 %(n)d 字", n=standard.REASON_MAX),
            "capacity": _("请选择联系身份"), "assigned": _("该委员已联系本议事厅"),
            "members_full": _("一个议事厅最多联系 %(n)d 名委员", n=registry.MAX_MEMBERS),
            "not_assigned": _("该委员未联系本议事厅"), "no_member": _("没有这位委员（请填写委员的用户名）"),
            "files_full": _("附件已达上限：照片最多 %(photos)d 张，每项证明材料最多 %(files)d 个",
                            photos=registry.MAX_PHOTOS, files=registry.MAX_EVIDENCE),
            "too_many_files": _("一次最多上传 %(n)d 个文件", n=FILES_PER_POST),
            "photo_type": _("照片只能是 JPG 或 PNG 图片"), "no_file": _("没有这个文件"),
            "no_files": _("请选择要上传的文件"), "profile": _("资料有误，请按提示修改")}


def _keepable(session, code: str):
    hall = hall_or_404(session, code)
    if not policy.may_keep_hall(current_user(), hall.township_code):
        abort(403)
    return hall


def _back(code: str, anchor: str):
    return redirect(url_for("halls.show", code=code, year=request.args.get("year") or None, _anchor=anchor))


@bp.route("/halls/<code>/profile", methods=["GET", "POST"])
@allowed_if(policy.may_see_halls)
def profile(code: str):
    """Edit the address, opening arrangements and contacts."""
    engine, user = engine_of(current_app), current_user()
    with engine.reading() as session:
        hall = _keepable(session, code)
        saved = registry.profile(session, code)
    errors: dict[str, str] = {}
    if request.method == "GET":
        form = {"address": saved.address or "", "opening_hours": saved.opening_hours or ""}
        for i, c in enumerate(saved.contacts, start=1):
            form.update({f"name{i}": c.name, f"role{i}": c.role or "", f"phone{i}": c.phone or ""})
    else:
        form = {k: request.form.get(k, "").strip() for k in ["address", "opening_hours"] + [
            f"{f}{i}" for i in range(1, registry.MAX_CONTACTS + 1) for f in ("name", "role", "phone")]}
        contacts, errors = _contacts(form)
        for field in ("address", "opening_hours"):
            if len(form[field]) > registry.LIMITS[field]:
                errors[field] = _("不能超过 %(n)d 字", n=registry.LIMITS[field])
        if not errors:
            with engine.unit_of_work() as session:
                registry.save_profile(session, code, form["address"], form["opening_hours"], contacts,
                                      user.username, engine.clock.now())
            flash(_("已保存议事厅资料"), "success")
            return redirect(url_for("halls.show", code=code))
    body = render_template("halls/profile.html", hall=hall, form=form, errors=errors,
                           contacts=range(1, registry.MAX_CONTACTS + 1), limits=registry.LIMITS)
    return body, 422 if errors else 200


def _contacts(form: dict) -> tuple[list[Contact], dict[str, str]]:
    words = {"required": _("请填写姓名"), "too_long": _("太长了"),
             "phone": _("电话只能包含数字、空格、+ 和 -（5 到 30 位）")}
    contacts, errors = [], {}
    for i in range(1, registry.MAX_CONTACTS + 1):
        contact = Contact(form[f"name{i}"], form[f"role{i}"] or None, form[f"phone{i}"] or None)
        if not (contact.name or contact.role or contact.phone):
            continue
        for field, problem in registry.contact_problems(contact):
            errors[f"{field}{i}"] = words[problem]
        contacts.append(contact)
    return contacts, errors


@bp.post("/halls/<code>/photos")
@allowed_if(policy.may_see_halls)
def add_photos(code: str):
    """Add photos of the hall (JPG/PNG)."""
    with engine_of(current_app).reading() as session:
        _keepable(session, code)
    refused = _store_files(code, "photo", "photos")
    return refused or _back(code, "photos")


@bp.post("/halls/<code>/files/<upload_id>/remove")
@allowed_if(policy.may_see_halls)
def remove_file(code: str, upload_id: str):
    """Take a photo or an evidence file off the hall (evidence only while its item is not confirmed)."""
    engine, user = engine_of(current_app), current_user()
    with engine.reading() as session:
        hall = hall_or_404(session, code)
        found = registry.file_of(session, code, upload_id[:32])
        entries = standard.entries(session, code)
    if found is None:
        abort(404)
    allowed = policy.may_keep_hall(user, hall.township_code) if found.purpose == "photo" else \
        policy.may_enter_standard(user, hall.township_code) and entries[found.purpose].state != "confirmed"
    if not allowed:
        abort(403)
    with engine.unit_of_work() as session:
        registry.remove_file(session, code, found.upload_id, user.username, engine.clock.now())
    services_of(current_app).uploads.path_of(found.upload_id).unlink(missing_ok=True)
    flash(_("已删除“%(name)s”", name=found.filename), "success")
    return _back(code, "photos" if found.purpose == "photo" else f"item-{found.purpose}")


@bp.post("/halls/<code>/members")
@allowed_if(policy.may_see_halls)
def assign(code: str):
    """Assign a member to the hall (by username; the capacity follows from the member's kind unless chosen)."""
    engine, user = engine_of(current_app), current_user()
    username = request.form.get("username", "").strip()[:64]
    with engine.reading() as session:
        _keepable(session, code)
        capacity = request.form.get("capacity") or registry.member_capacity(session, username)
        known = registry.member_capacity(session, username) is not None
    try:
        if not known:
            raise Refused("no_member")
        with engine.unit_of_work() as session:
            registry.assign(session, code, username, capacity or "", user.username, engine.clock.now())
    except Refused as refused:
        return render_hall(code, {"members": refusals()[refused.code]}, {"username": username}, 422)
    flash(_("已安排 %(who)s 联系本议事厅（%(capacity)s）", who=username,
            capacity=capacity_names().get(capacity, capacity)), "success")
    return _back(code, "members")


@bp.post("/halls/<code>/members/<username>/remove")
@allowed_if(policy.may_see_halls)
def unassign(code: str, username: str):
    """Take a member off the hall."""
    engine, user = engine_of(current_app), current_user()
    with engine.reading() as session:
        _keepable(session, code)
    try:
        with engine.unit_of_work() as session:
            registry.unassign(session, code, username[:64], user.username, engine.clock.now())
    except Refused as refused:
        return render_hall(code, {"members": refusals()[refused.code]}, {}, 422)
    flash(_("已取消 %(who)s 联系本议事厅", who=username), "success")
    return _back(code, "members")


@bp.post("/halls/<code>/standard/<item>")
@allowed_if(policy.may_see_halls)
def submit(code: str, item: str):
    """The township submits an entered item: a note and evidence files (any new files are stored first)."""
    engine, user = engine_of(current_app), current_user()
    with engine.reading() as session:
        hall = hall_or_404(session, code)
    if item not in standard.ENTERED:
        abort(404)
    if not policy.may_enter_standard(user, hall.township_code):
        abort(403)
    note = request.form.get("note", "").strip()
    if request.files.getlist("files") and any(f.filename for f in request.files.getlist("files")):
        refused = _store_files(code, item, f"item-{item}", note)
        if refused:
            return refused
    try:
        with engine.unit_of_work() as session:
            count = registry.file_count(session, code, item)
            standard.submit(session, code, item, note, user.username, engine.clock.now(), count)
    except Refused as refused:
        return render_hall(code, {f"item-{item}": refusals()[refused.code]}, {f"note-{item}": note}, 422)
    flash(_("已提交“%(item)s”，等待县政协办公室确认", item=item_names()[item]), "success")
    return _back(code, f"item-{item}")


@bp.post("/halls/<code>/standard/<item>/decide")
@allowed_if(policy.may_confirm_standard)
def decide(code: str, item: str):
    """The county office confirms the item, or returns it with a reason."""
    engine, user = engine_of(current_app), current_user()
    with engine.reading() as session:
        hall_or_404(session, code)
    confirm, reason = request.form.get("decision") == "confirm", request.form.get("reason", "").strip()
    try:
        with engine.unit_of_work() as session:
            standard.decide(session, code, item, confirm, reason, user.username, engine.clock.now())
    except Refused as refused:
        return render_hall(code, {f"item-{item}": refusals()[refused.code]}, {f"reason-{item}": reason}, 422)
    names = item_names()
    flash(_("已确认“%(item)s”", item=names.get(item, item)) if confirm
          else _("已退回“%(item)s”", item=names.get(item, item)), "success")
    return _back(code, f"item-{item}")


def _store_files(code: str, purpose: str, anchor: str, note: str = ""):
    """Check and store the posted files for the hall: None when stored, else the page with the reason."""
    engine, user, words = engine_of(current_app), current_user(), refusals()
    posted = [f for f in request.files.getlist("files") if f.filename]
    kept = {f"note-{purpose}": note} if purpose != "photo" else {}
    limit = registry.MAX_PHOTOS if purpose == "photo" else registry.MAX_EVIDENCE
    with engine.reading() as session:
        room = limit - registry.file_count(session, code, purpose)
    problem = (words["no_files"] if not posted else words["too_many_files"] if len(posted) > FILES_PER_POST
               else words["files_full"] if len(posted) > room else None)
    for storage in posted if problem is None else ():
        problem = check_upload(storage) or (words["photo_type"] if purpose == "photo" and os.path.splitext(
            storage.filename.lower())[1] not in registry.PHOTO_SUFFIXES else None)
        if problem:
            break
    if problem:
        return render_hall(code, {anchor: problem}, kept, 422)
    new = [NewFile(new_id(), f.filename, f.stream) for f in posted]
    try:
        services_of(current_app).uploads.store(user, None, new)
    except QuotaExceeded as exc:
        return render_hall(code, {anchor: quota_message(exc)}, kept, 422)
    with engine.unit_of_work() as session:
        registry.add_files(session, code, purpose, [n.id for n in new], user.username, engine.clock.now())
    if purpose == "photo":
        flash(_("已上传 %(n)d 张照片", n=len(new)), "success")
    return None
