"""English everywhere: every source string has a translation, compiled catalogs match their .po files, and the
pages' own words are English when English is chosen (only process and people data stays as written)."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from engine.store.models import OrgUnit, User
from tests.conftest import DATA
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of
from webui.i18n import TRANSLATIONS

WEBUI = Path(__file__).resolve().parents[3] / "webui"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "pgettext": ((1, "c"), 2),
            "lazy_pgettext": ((1, "c"), 2)}
METHODS = [("templates/**.html", "jinja2.ext.babel_extract"), ("*.py", "python")]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%\(\w+\)\.\d+f")
NAV_ZH = ("待办", "协商事项", "概览", "管理", "退出", "登录")


def _source_messages() -> dict[tuple[str | None, str], list[str]]:
    """(context, msgid) → where it is used, for every string marked in webui's templates and modules."""
    found: dict[tuple[str | None, str], list[str]] = {}
    for filename, line, message, _comments, context in extract_from_dir(str(WEBUI), METHODS, keywords=KEYWORDS):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault((context, msgid), []).append(f"{filename}:{line}")
    return found


def _forms(value) -> tuple:
    """A catalog entry's id or string as a tuple: a plural's forms, or the one."""
    return value if isinstance(value, tuple) else (value,)


def _read(path: Path, reader=read_po):
    with path.open("rb") as fh:
        return reader(fh)


def _catalogs() -> dict[Path, object]:
    return {po: _read(po) for po in sorted(TRANSLATIONS.rglob("*.po"))}


def test_every_marked_string_has_english():
    english = {(m.context, msgid): m.string for catalog in _catalogs().values() for m in catalog
               if m.id and not m.fuzzy and all(_forms(m.string))
               for msgid in _forms(m.id)}    # a plural: its singular and plural
    found = _source_messages()
    assert len(found) > 250 and ("event", "认领") in found and (None, "概览") in found    # the extractor saw them
    missing = {f"{msgid!r} ({context})" if context else repr(msgid): where[0] for (context, msgid), where
               in sorted(found.items(), key=str) if (context, msgid) not in english}
    assert not missing, "no English for:\n" + "\n".join(f"  {m}  ← {w}" for m, w in missing.items())


@pytest.mark.parametrize("po", sorted(TRANSLATIONS.rglob("*.po")), ids=lambda p: p.parts[-4])
def test_translations_keep_placeholders_and_have_no_chinese(po):
    for message in _read(po):
        if message.id:          # a plural's forms each keep the placeholders of the Chinese plural
            for string in _forms(message.string):
                assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(_forms(message.id)[-1])), \
                    message.id
                assert not CJK.search(string), (message.id, string)


@pytest.mark.parametrize("po", sorted(TRANSLATIONS.rglob("*.po")), ids=lambda p: p.parts[-4])
def test_compiled_catalogs_match_their_po_files(po):
    """The committed .mo is what `python -m webui.i18n` makes of the .po now (a .po without a POT-Creation-Date
    gets today's, so that one header is not compared)."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{mo} missing: run .venv/bin/python -m webui.i18n"
    fresh = io.BytesIO()
    write_mo(fresh, _read(po), use_fuzzy=False)
    fresh.seek(0)

    def content(catalog):
        headers = [h for h in catalog.mime_headers if h[0] != "POT-Creation-Date"]
        return headers, sorted((str(m.context), str(m.id), str(m.string)) for m in catalog if m.id)

    assert content(_read(mo, read_mo)) == content(read_mo(fresh)), f"{mo} is stale: run python -m webui.i18n"


# --- the pages in English -------------------------------------------------------------------------------
@pytest.fixture
def mini(web_engine):
    """A mini process instance whose user data is English; only its diagram's names are Chinese."""
    instance_id = web_engine.start_instance("mini", {"title": "Street lights on Old Street", "count": 2},
                                            actor="m001")
    [task] = web_engine.list_tasks(instance_id=instance_id)
    return instance_id, task


def _process_and_people_data(web_engine) -> list[str]:
    """Text the pages show as written: the mini diagram's names, form titles and instructions, people, org units."""
    diagram = (DATA / "mini" / "mini.bpmn").read_text(encoding="utf-8")
    texts = re.findall(r'<bpmn:\w+ [^>]*name="([^"]+)"', diagram)
    texts += [text.split("{{")[0].strip(" *") for text in re.findall(r"instructionsForEndUser>([^<]+)<", diagram)]
    for schema in (DATA / "mini" / "forms").glob("*.json"):
        texts += re.findall(r'"title": "([^"]+)"', schema.read_text(encoding="utf-8"))
    with web_engine.unit_of_work() as session:
        texts += list(session.scalars(select(User.display_name))) + list(session.scalars(select(OrgUnit.name)))
        texts += list(web_engine.hooks.process_names(session).values())       # the deployed diagrams' names
    return sorted(set(texts) - {""}, key=len, reverse=True)


def _chrome(page: str, data: list[str]) -> str:
    """The page without its data: the diagram's JSON, the language switch's 中文 (a language's own name) and data."""
    page = re.sub(r'<script type="application/json" id="diagram-data">.*?</script>', "", page, flags=re.S)
    page = page.replace('class="lang" href="/lang/zh_CN', "").replace(">中文</a>", "></a>")
    for text in data:
        page = page.replace(text, "")
    return page


def _assert_english(page: str, data: list[str], *words: str) -> None:
    chrome = _chrome(page, data)
    leftover = sorted({m.group() for m in re.finditer(r"[^<>\s]*" + CJK.pattern + r"[^<>\s]*", chrome)})
    assert not leftover, f"Chinese left in the page's own words: {leftover}"
    assert '<html lang="en">' in page
    for word in words:
        assert word in page, word


def test_signed_in_pages_are_english(client, login, web_engine, mini):
    instance_id, task = mini
    data = _process_and_people_data(web_engine)
    login("office")
    assert client.get("/lang/en").status_code == 302
    inbox = client.get("/inbox?tab=claimable").get_data(as_text=True)
    _assert_english(inbox, data, "To do", "Consultations", "Overview", "Available to claim", "Claim", "Sign out")
    assert not any(f">{label}<" in inbox for label in NAV_ZH)
    claimed = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf_of(inbox)}, follow_redirects=True)
    _assert_english(claimed.get_data(as_text=True), data, "Claimed.", "Release", "Reason for returning",
                    "Reassign to", " · CPPCC office</option>")
    client.post(f"/tasks/{task.id}/comment", data={"csrf_token": csrf_of(inbox), "body": "Looks fine"})
    task_page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    _assert_english(task_page, data, "Save draft", "Comments", "Looks fine", "History", "Claimed", "Started")
    instance = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "Suggestions and answers" not in instance      # "mini" registers no hooks: no consultation section
    _assert_english(instance, data, "Process diagram", "Looks fine", "In progress",
                    "Tasks", "History")
    listing = client.get("/instances").get_data(as_text=True)
    _assert_english(listing, data, "All statuses", f"#{instance_id}", "Page 1 of 1")
    overview = client.get("/overview").get_data(as_text=True)
    _assert_english(overview, data, "Consultations in progress", "Deployed process versions", "Open tasks")
    assert "<h1>待办</h1>" in client.get("/inbox?lang=zh_CN").get_data(as_text=True)   # Chinese stays the default


def test_sign_in_and_error_pages_are_english(client, login, web_engine, mini):
    data = _process_and_people_data(web_engine)
    page = client.get("/login?lang=en").get_data(as_text=True)
    _assert_english(page, data, "Sign in", "Password", "Online public-opinion channel")
    token = csrf_of(page)
    wrong = client.post("/login?lang=en", data={"username": "office", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    _assert_english(wrong.get_data(as_text=True), data, "Incorrect username or password.")
    expired = client.post("/login?lang=en", data={"username": "office", "password": "x"})
    assert expired.status_code == 400
    _assert_english(expired.get_data(as_text=True), data, "The form has expired")
    login("organizer_mutan")
    missing = client.get("/instances/99999?lang=en")
    assert missing.status_code == 404
    _assert_english(missing.get_data(as_text=True), data, "Page or item not found", "No such instance", "Back to")
    forbidden = client.get(f"/instances/{mini[0]}?lang=en")
    assert forbidden.status_code == 403
    _assert_english(forbidden.get_data(as_text=True), data, "Access denied", "You may not see this instance")
    assert "您无权查看此协商事项" in client.get(f"/instances/{mini[0]}").get_data(as_text=True)   # zh keeps zh


def test_the_answer_step_reads_in_english(client, login, web_engine):
    """A consultation's own words are its data; the labels around them (suggestion, department) are English."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    for _ in range(20):
        tasks = web_engine.list_tasks(instance_id=instance_id)
        if tasks[0].task_spec == "answer_suggestion":
            break
        data = scenario.answer(tasks[0].task_spec, web_engine.show_instance(instance_id).data)
        web_engine.complete_task(tasks[0].id, data, actor=tasks[0].candidates[0])
    [housing] = [t for t in tasks if t.org_unit == "dept_housing"]
    login("liaison_housing")
    page = client.get(f"/tasks/{housing.id}?lang=en").get_data(as_text=True)
    assert "This suggestion (" in page and "Responsible department: 县住房和城乡建设局" in page
    assert "本条意见建议" not in page and "承办单位：" not in page
    instance = client.get(f"/instances/{instance_id}?lang=en").get_data(as_text=True)
    assert "Suggestions and answers" in instance and "意见建议与办理答复" not in instance


def test_a_source_string_has_one_english_across_the_areas():
    """The areas' catalogs are merged into one (the last read wins), so a Chinese string translated two ways in two
    areas would read the other area's way on some page ('发布' as 'Deploy' on a comment's button): a string with two
    senses carries a context (pgettext) instead."""
    english: dict = {}
    for po, catalog in _catalogs().items():
        for message in catalog:
            if message.id:
                key = (message.context, _forms(message.id)[0])
                english.setdefault(key, {})[po.parts[-4]] = message.string
    differing = {key: areas for key, areas in english.items() if len({str(s) for s in areas.values()}) > 1}
    assert not differing, differing


def test_a_comment_is_posted_and_a_process_deployed(client, login, web_engine, mini):
    instance_id, task = mini
    login("office")
    for path in (f"/instances/{instance_id}?lang=en", f"/tasks/{task.id}?lang=en"):
        page = client.get(path).get_data(as_text=True)
        assert "<button>Post</button>" in page and "Deploy" not in page, path
    login("owner")
    studio = client.get("/studio/processes/mini/edit?lang=en").get_data(as_text=True)
    assert 'id="studio-deploy" class="button">Deploy</button>' in studio
