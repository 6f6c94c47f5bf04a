"""Who a submission names must be in the directory: people who exist, are active and may act; org units that exist
and host the chosen tier. Checked by the engine, so pages, the API and the CLI all get the same answer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ValidationFailed
from engine.store import directory
from engine.store.directory import PLAIN_RULES, DirectoryRules
from engine.store.models import HumanTask, User


def people_fields(schema: dict | None, ui: dict | None) -> dict[str, str | None]:
    """Top-level fields drawn as people pickers (`ui:widget: people`), with the role their people must hold
    (`ui:options.role`), if any."""
    found = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        field_ui = (ui or {}).get(name) or {}
        widget = field_ui.get("ui:widget") or (field_ui.get("items") or {}).get("ui:widget")
        if widget == "people" and (prop.get("type") in ("string", "array")):
            found[name] = (field_ui.get("ui:options") or {}).get("role")
    return found


def anywhere_fields(schema: dict | None, ui: dict | None) -> set[str]:
    """People pickers whose people may hold the role in any unit (`ui:options.scope: anywhere`), not only the
    instance's."""
    return {name for name in people_fields(schema, ui)
            if ((ui or {}).get(name) or {}).get("ui:options", {}).get("scope") == "anywhere"}


def place_fields(schema: dict | None, ui: dict | None) -> dict[str, dict]:
    """Top-level org-unit pickers that choose a place of some kind (`ui:options.kind`) at or below the instance's
    org unit, with their options (`other: true` also accepts OTHER, "somewhere else, written out")."""
    found = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        field_ui = (ui or {}).get(name) or {}
        options = field_ui.get("ui:options") or {}
        if field_ui.get("ui:widget") == "orgunit" and options.get("kind") and prop.get("type") == "string":
            found[name] = options
    return found


OTHER = "other"


def org_unit_fields(schema: dict | None, ui: dict | None, prefix: str = "") -> dict[str, tuple[str, ...]]:
    """Fields drawn as org-unit pickers (`ui:widget: orgunit`), rows of lists included (`suggestions/*/department`),
    with the kinds of unit they accept (`ui:options.kinds`; empty: any)."""
    found = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        field_ui = (ui or {}).get(name) or {}
        path = f"{prefix}/{name}" if prefix else name
        if not isinstance(prop, dict) or not isinstance(field_ui, dict):
            continue
        options = field_ui.get("ui:options") or {}
        if field_ui.get("ui:widget") == "orgunit" and prop.get("type") == "string" and not options.get("kind"):
            found[path] = tuple(options.get("kinds") or ())     # a place picker (`kind`) is checked on its own
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, dict) and items.get("properties"):
            found.update(org_unit_fields(items, field_ui.get("items") or {}, f"{path}/*"))
    return found


def _values_at(data, parts: list[str], prefix: str = ""):
    """(path, value) pairs of `data` at a field path whose `*` parts stand for every row."""
    if not parts:
        yield prefix, data
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        for index, row in enumerate(data if isinstance(data, list) else []):
            yield from _values_at(row, rest, f"{prefix}/{index}" if prefix else str(index))
    elif isinstance(data, dict) and head in data:
        yield from _values_at(data[head], rest, f"{prefix}/{head}" if prefix else head)


def unit_of_kind_problem(session: Session, code, kinds: tuple[str, ...], rules: DirectoryRules = PLAIN_RULES) \
        -> str | None:
    """Why `code` cannot be chosen in a picker of `kinds` units, or None when it can."""
    unit = directory.org_unit(session, code) if isinstance(code, str) else None
    shown = _shown(code)
    if unit is None:
        return f"没有组织单位“{shown}”，请从名单中选择 (there is no org unit “{shown}”; choose one from the list)"
    if kinds and unit.kind not in kinds:
        fitting = "或".join(rules.kind_names.get(k, k) for k in kinds)
        return (f"{unit.name}不是{fitting}，请从名单中选择 "
                f"({unit.code} is not a {' or '.join(kinds)} unit; choose one from the list)")
    return None


def _shown(name) -> str:
    """A submitted name on one line (a pasted list arrives as one value with line breaks)."""
    return "（空）" if name is None else " ".join(str(name).split()) or "（空）"


def person_problem(session: Session, username, role: str | None, org_unit: str | None,
                   rules: DirectoryRules = PLAIN_RULES, anywhere: bool = False) -> str | None:
    """Why `username` cannot be named here (`anywhere`: as a holder of `role` in any unit), or None when they can."""
    shown = _shown(username)
    if not isinstance(username, str) or not directory.is_active(session, username):
        return (f"“{shown}”不是系统中的有效用户，请从名单中选择 "
                f"(“{shown}” is not an active user; choose people from the list)")
    shown = session.scalar(select(User.display_name).where(User.username == username)) or shown   # a name, as listed
    if role and anywhere:
        if directory.holds_role(session, username, role):
            return None
        role_name = rules.role_names.get(role, role)
        return f"{shown} 不是{role_name}，请从名单中选择 ({shown} is not a {role}; choose people from the list)"
    if role and not directory.may_act(session, username, role, org_unit, rules.inherited_roles):
        unit = directory.org_unit(session, org_unit)
        where = unit.name if unit else (org_unit or "本单位")
        role_name = rules.role_names.get(role, role)
        return (f"{shown} 不是{where}的{role_name}，不能被安排此项工作 "
                f"({shown} is not a {role} of {org_unit or 'this unit'})")
    return None


def org_unit_problem(session: Session, code, tier: str | None, rules: DirectoryRules = PLAIN_RULES) -> str | None:
    """Why `code` cannot take the matter on the `tier` platform, or None when it can."""
    unit = directory.org_unit(session, code) if isinstance(code, str) else None
    if unit is None:
        shown = _shown(code)
        return f"没有组织单位“{shown}”，请从名单中选择 (there is no org unit “{shown}”; choose one from the list)"
    kinds = rules.tier_kinds.get(tier or "")
    if kinds and unit.kind not in kinds:
        fitting = "或".join(rules.kind_names.get(k, k) for k in kinds)
        return (f"{unit.name}不能承接{rules.tier_names.get(tier, tier)}，请选择{fitting} "
                f"({unit.code} cannot host the {tier} tier; choose a {' or '.join(kinds)} unit)")
    return None


def place_problem(session: Session, code, options: dict, org_unit: str | None,
                  rules: DirectoryRules = PLAIN_RULES) -> str | None:
    """Why `code` is not one of the places of kind `options["kind"]` offered for `org_unit`, or None."""
    if code is None or (options.get("other") and code == OTHER):
        return None
    kind = options["kind"]
    if isinstance(code, str) and code in {u.code for u in directory.places(session, kind, org_unit)}:
        return None
    unit = directory.org_unit(session, code) if isinstance(code, str) else None
    shown = unit.name if unit else _shown(code)
    kind_name = rules.kind_names.get(kind, kind)
    return (f"“{shown}”不是本平台可选的{kind_name}，请从名单中选择 "
            f"(“{shown}” is not a {kind} of this platform; choose one from the list)")


def submission_errors(session: Session, schema: dict | None, ui: dict | None, clean: dict,
                      org_unit: str | None, tier: str | None,
                      rules: DirectoryRules = PLAIN_RULES) -> dict[str, list[str]]:
    """Field errors for the people and the org unit a submission names; `org_unit`/`tier`: the instance's."""
    errors: dict[str, list[str]] = {}
    org_unit = clean.get("org_unit") if isinstance(clean.get("org_unit"), str) else org_unit
    anywhere = anywhere_fields(schema, ui)
    for path, role in people_fields(schema, ui).items():
        value = clean.get(path)
        for name in value if isinstance(value, list) else [] if value is None else [value]:
            problem = person_problem(session, name, role, org_unit, rules, path in anywhere)
            if problem:
                errors.setdefault(path, []).append(problem)
    for path, options in place_fields(schema, ui).items():
        problem = place_problem(session, clean.get(path), options, org_unit, rules)
        if problem:
            errors[path] = [problem]
    for pattern, kinds in org_unit_fields(schema, ui).items():
        if pattern == "org_unit":
            continue       # the instance's org unit: checked against its tier below
        for path, value in _values_at(clean, pattern.split("/")):
            problem = unit_of_kind_problem(session, value, kinds, rules)
            if problem:
                errors.setdefault(path, []).append(problem)
    if "org_unit" in clean:      # the instance's org unit (the engine reads `org_unit` and `tier` from its data)
        problem = org_unit_problem(session, clean["org_unit"], clean.get("tier") or tier, rules)
        if problem:
            errors["org_unit"] = [problem]
    return errors


def check_submission(session: Session, schema, ui, clean: dict, org_unit: str | None, tier: str | None,
                     rules: DirectoryRules = PLAIN_RULES) -> None:
    """Raise ValidationFailed when the submission names people or an org unit the directory refuses."""
    errors = submission_errors(session, schema, ui, clean, org_unit, tier, rules)
    if errors:
        raise ValidationFailed(errors)


def check_new_tasks(session: Session, rows: list[HumanTask], named: set[str], clean: dict,
                    rules: DirectoryRules = PLAIN_RULES) -> None:
    """Refuse tasks the diagram assigned by name (`named`: their task spec ids) to someone who may not act;
    the error goes to the submitted field that held the name."""
    errors: dict[str, list[str]] = {}
    for row in rows:
        if row.task_spec not in named:
            continue
        problem = person_problem(session, row.assignee, row.role, row.org_unit_code, rules)
        if problem:
            errors.setdefault(_field_holding(clean, row.assignee), []).append(problem)
    if errors:
        raise ValidationFailed(errors)


def _field_holding(clean: dict, value) -> str:
    for name, submitted in clean.items():
        if submitted == value or (isinstance(submitted, list) and value in submitted):
            return name
    return "(form)"
