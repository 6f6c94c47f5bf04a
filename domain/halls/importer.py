"""Importing the hall list from a spreadsheet (XLSX or CSV): every row checked first, a report of each bad row
(row number, column, what is wrong), and then all rows saved in one transaction, or none.

Columns (the header row names them; order free): 议事厅 (code or name, required), 地址, 开放时间, 联系人1, 职务1, 电话1
(… up to 3 contacts), 委员 (usernames or names separated by 、 , ; or spaces: the hall's members become exactly
these; empty leaves them as they are)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.halls import registry
from domain.halls.models import HallMember
from domain.halls.registry import CAPACITY_OF_KIND, LIMITS, MAX_CONTACTS, MAX_MEMBERS, Contact
from domain.people import audit
from engine.store.models import User

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 500
MEMBERS_MAX = 2000             # characters in the members cell
HALL_MAX = 100
HALL, ADDRESS, HOURS, MEMBERS = "议事厅", "地址", "开放时间", "委员"
CONTACT_COLUMNS = tuple(col for i in range(1, MAX_CONTACTS + 1) for col in (f"联系人{i}", f"职务{i}", f"电话{i}"))
COLUMNS = (HALL, ADDRESS, HOURS, *CONTACT_COLUMNS, MEMBERS)
_SPLIT = re.compile(r"[、,，;；\s]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the sheet: the row (1 is the header; 0 the file itself), the column, a message code and
    its values (the page words it)."""

    row: int
    column: str
    code: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class HallRow:
    """A checked row."""

    row: int
    hall_code: str
    address: str | None
    opening_hours: str | None
    contacts: tuple[Contact, ...]
    members: tuple[tuple[str, str], ...] | None        # (username, capacity); None: leave as they are


class SheetRefused(Exception):
    """The sheet has problems; nothing was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """The sheet's rows as text cells (XLSX: the first worksheet); SheetRefused for a file that is not one."""
    if len(content) > MAX_BYTES:
        raise SheetRefused([Problem(0, "", "file_size", {"limit": MAX_BYTES // (1024 * 1024)})])
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(content)
    if name.endswith(".csv"):
        return _read_csv(content)
    raise SheetRefused([Problem(0, "", "file_type")])


def _read_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only an import pays for it

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise SheetRefused([Problem(0, "", "file_unreadable")]) from None
    try:
        rows = []
        for values in book.worksheets[0].iter_rows(values_only=True):
            if len(rows) > MAX_ROWS + 1:
                raise SheetRefused([Problem(0, "", "too_many_rows", {"limit": MAX_ROWS})])
            rows.append(["" if v is None else str(v).strip() for v in values[:len(COLUMNS) + 5]])
        return rows
    finally:
        book.close()


def _read_csv(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):            # Excel in China saves CSV as GBK unless told otherwise
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetRefused([Problem(0, "", "file_unreadable")])
    rows = []
    try:
        for values in csv.reader(io.StringIO(text)):
            if len(rows) > MAX_ROWS + 1:
                raise SheetRefused([Problem(0, "", "too_many_rows", {"limit": MAX_ROWS})])
            rows.append([v.strip() for v in values[:len(COLUMNS) + 5]])
    except csv.Error:
        raise SheetRefused([Problem(0, "", "file_unreadable")]) from None
    return rows


def check(session: Session, table: list[list[str]], townships: frozenset[str] | None) -> list[HallRow]:
    """Every row checked against the registry and the people; SheetRefused with every problem found."""
    table = [r for r in table if any(r)]
    if not table:
        raise SheetRefused([Problem(0, "", "empty")])
    header = table[0]
    unknown = [h for h in header if h and h not in COLUMNS]
    problems = [Problem(1, h, "unknown_column") for h in unknown]
    if HALL not in header:
        problems.append(Problem(1, HALL, "missing_column"))
    if len(table) == 1:
        problems.append(Problem(0, "", "no_rows"))
    if problems:
        raise SheetRefused(problems)
    index = {h: i for i, h in enumerate(header) if h}
    halls = registry.halls(session)
    by_code = {h.code: h for h in halls}
    by_name: dict[str, list] = {}
    for h in halls:
        by_name.setdefault(h.name, []).append(h)
    people = {u.username: u for u in session.execute(select(User.username, User.display_name, User.member_kind)
                                                     .where(User.active.is_(True), User.member_kind.is_not(None)))}
    names: dict[str, list[str]] = {}
    for u in people.values():
        names.setdefault(u.display_name, []).append(u.username)
    rows, seen = [], {}
    for number, values in enumerate(table[1:], start=2):
        cell = {h: (values[i] if i < len(values) else "") for h, i in index.items()}
        found = _row(number, cell, by_code, by_name, people, names, townships, seen, problems)
        if found is not None:
            rows.append(found)
    if problems:
        raise SheetRefused(problems)
    return rows


def _row(number, cell, by_code, by_name, people, names, townships, seen, problems) -> HallRow | None:
    before = len(problems)

    def bad(column: str, code: str, **values) -> None:
        problems.append(Problem(number, column, code, values))

    for column, limit in ((HALL, HALL_MAX), (ADDRESS, LIMITS["address"]), (HOURS, LIMITS["opening_hours"]),
                          (MEMBERS, MEMBERS_MAX)):
        if len(cell.get(column, "")) > limit:
            bad(column, "too_long", limit=limit)
    key = cell.get(HALL, "")
    hall = by_code.get(key) or (by_name[key][0] if len(by_name.get(key, ())) == 1 else None)
    if not key:
        bad(HALL, "required")
    elif len(by_name.get(key, ())) > 1:
        bad(HALL, "hall_ambiguous", value=key)
    elif hall is None:
        bad(HALL, "hall_unknown", value=key[:HALL_MAX])
    elif townships is not None and hall.township_code not in townships:
        bad(HALL, "hall_outside", value=key)
    elif hall.code in seen:
        bad(HALL, "hall_repeated", value=key, first=seen[hall.code])
    else:
        seen[hall.code] = number
    contacts = []
    for i in range(1, MAX_CONTACTS + 1):
        name, role, phone = (cell.get(f"{c}{i}", "") for c in ("联系人", "职务", "电话"))
        if not (name or role or phone):
            continue
        for column, problem in registry.contact_problems(Contact(name, role or None, phone or None)):
            label = {"name": f"联系人{i}", "role": f"职务{i}", "phone": f"电话{i}"}[column]
            bad(label, problem, limit=LIMITS[column], value=phone if column == "phone" else "")
        contacts.append(Contact(name, role or None, phone or None))
    members = None
    if cell.get(MEMBERS, "") and len(cell[MEMBERS]) <= MEMBERS_MAX:
        members, listed = [], [w for w in _SPLIT.split(cell[MEMBERS]) if w]
        for word in listed:
            username = word if word in people else (names[word][0] if len(names.get(word, ())) == 1 else None)
            if len(names.get(word, ())) > 1 and word not in people:
                bad(MEMBERS, "member_ambiguous", value=word, usernames="、".join(sorted(names[word])))
            elif username is None:
                bad(MEMBERS, "member_unknown", value=word[:50])
            elif username not in {u for u, _ in members}:
                members.append((username, CAPACITY_OF_KIND.get(people[username].member_kind or "",
                                                               "county_member")))
        if len(members) > MAX_MEMBERS:
            bad(MEMBERS, "members_full", limit=MAX_MEMBERS)
    if len(problems) > before:
        return None
    return HallRow(number, hall.code, cell.get(ADDRESS) or None, cell.get(HOURS) or None, tuple(contacts),
                   None if members is None else tuple(members))


def apply(session: Session, rows: list[HallRow], actor: str, now: datetime) -> int:
    """Save checked rows in the caller's transaction (all or none with it); how many halls were updated."""
    for row in rows:
        registry.save_profile(session, row.hall_code, row.address, row.opening_hours, list(row.contacts), actor, now)
        if row.members is not None:
            session.execute(delete(HallMember).where(HallMember.hall_code == row.hall_code))
            session.add_all(HallMember(hall_code=row.hall_code, username=u, capacity=c, assigned_at=now)
                            for u, c in row.members)
    audit.record(session, actor, "halls_imported", now, halls=len(rows))
    return len(rows)
