"""Hostile XML and bundle files are refused before parsing, read nothing and store nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.bpmn.xmlsafe import MAX_XML_BYTES
from engine.errors import Problem, SpecInvalid
from tests.conftest import DATA
from tests.unit.engine.hostile.support import (
    DOCTYPE_REFUSED,
    GBK_DECLARED,
    NOT_UTF8,
    NOTHING,
    TOKEN,
    assert_token_absent,
    counts,
    dump,
    render_bpmn,
    render_dmn,
    with_doctype,
    write_bundle,
)

# --------------------------------------------------------------------------------------------------
# XML: DTDs, entities, network, size, well-formedness, encoding; BPMN and DMN; engine and CLI.
# --------------------------------------------------------------------------------------------------
FILES = {"bpmn": "hostile.bpmn", "dmn": "grade.dmn"}
# A refused file also leaves the rest of the bundle incomplete; these follow-on lines are tolerated here
# (test_a_refused_file_is_reported_once asks for them to go away).
# A refused file stops the checks that depend on its content, so nothing follows its problem.
FOLLOW_ON = {"bpmn": [], "dmn": []}


def laughs() -> str:
    """The billion laughs DTD: 10^9 copies of "lol"."""
    rows = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return "<!DOCTYPE definitions [\n  " + "\n  ".join(rows) + "\n]>"


def entity_payloads(secret_uri: str, base: str) -> dict[str, tuple[str, str | None]]:
    """name -> (DOCTYPE placed on line 2, what replaces the documentation text).

    Every DOCTYPE starts on line 2; the refusal names the line of the first ENTITY when there is one.
    """
    return {
        "xxe-file": (f'<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "{secret_uri}">]>', "&xxe;"),
        "xxe-parameter-entity": (f'<!DOCTYPE definitions [<!ENTITY % leak SYSTEM "{secret_uri}"> %leak;]>', None),
        "oob-parameter-entities": (f'<!DOCTYPE definitions [<!ENTITY % file SYSTEM "{secret_uri}">\n'
                                   f'  <!ENTITY % dtd SYSTEM "{base}/oob.dtd"> %dtd;]>', None),
        "network-entity": (f'<!DOCTYPE definitions [<!ENTITY net SYSTEM "{base}/entity">]>', "&net;"),
        "network-dtd": (f'<!DOCTYPE definitions SYSTEM "{base}/definitions.dtd">', None),
        "billion-laughs": (laughs(), "&lol9;"),
        "quadratic-blowup": (f'<!DOCTYPE definitions [<!ENTITY a "{"a" * 50_000}">]>', "&a;" * 2_000),
        "doctype-without-entities": ("<!DOCTYPE definitions>", None),
        "lowercase-doctype": ("<!doctype definitions>", None),
    }




def hostile_file(tmp_path: Path, kind: str, text: str | bytes) -> Path:
    """A bundle whose BPMN (kind="bpmn") or DMN (kind="dmn") file is `text`; the other files are fine."""
    return write_bundle(tmp_path / "bundle", **{kind: text})


def assert_refused(service, run_cli, paths, first: Problem, follow_on=()) -> list[Problem]:
    """validate, deploy, `xieshang validate` and `xieshang deploy` all refuse with `first`; nothing is stored."""
    before = dump(service)
    problems = service.validate(paths)
    assert problems[0] == first
    assert [str(p) for p in problems[1:]] in ([], list(follow_on))
    with pytest.raises(SpecInvalid) as refused:
        service.deploy(paths, actor="owner")
    assert refused.value.problems == problems
    lines = "".join(f"{p}\n" for p in problems)
    checked = run_cli("validate", *paths)
    assert (checked.exit_code, checked.stdout, checked.stderr) == (1, lines, "")
    deployed = run_cli("deploy", *paths, "--json")
    assert (deployed.exit_code, deployed.stdout, deployed.stderr) == (1, "", lines)
    after = dump(service)
    assert after == before
    assert counts(service) == NOTHING
    assert_token_absent(problems, refused.value, checked.output, deployed.output, after)
    return problems


ENTITY_CASES = list(entity_payloads("file:///x", "http://x"))


@pytest.mark.parametrize("kind", ["bpmn", "dmn"])
@pytest.mark.parametrize("case", ENTITY_CASES)
def test_doctype_and_entities_are_refused_before_parsing(case, kind, sqlite_service, run_cli, secret, probe, tmp_path):
    base, hits = probe
    doctype, reference = entity_payloads(secret.as_uri(), base)[case]
    template = render_bpmn() if kind == "bpmn" else render_dmn()
    bundle = hostile_file(tmp_path, kind, with_doctype(template, doctype, reference))
    started = time.monotonic()
    line = 2    # the DOCTYPE's line
    assert_refused(sqlite_service, run_cli, [bundle], Problem(FILES[kind], line, None, DOCTYPE_REFUSED),
                   FOLLOW_ON[kind])
    assert time.monotonic() - started < 5     # no expansion happened (a billion laughs would not return)
    assert hits == []


def test_doctype_after_the_first_8_kb_is_refused_without_network(sqlite_service, run_cli, probe, tmp_path):
    base, hits = probe
    text = render_bpmn().replace("\n", f"\n<!-- {'x' * 9000} -->\n<!DOCTYPE definitions SYSTEM "
                                       f'"{base}/late.dtd">\n', 1)
    bundle = hostile_file(tmp_path, "bpmn", text)
    problems = sqlite_service.validate([bundle])
    assert (problems[0].file, problems[0].element_id, problems[0].message) == ("hostile.bpmn", None, DOCTYPE_REFUSED)
    with pytest.raises(SpecInvalid):
        sqlite_service.deploy([bundle])
    assert (counts(sqlite_service), hits) == (NOTHING, [])


def test_utf16_xxe_slips_past_the_byte_scan_but_is_refused_and_reads_nothing(sqlite_service, secret, tmp_path):
    head, rest = render_bpmn().replace("fixture for hostile input", "&xxe;").split("\n", 1)
    doctype = f'<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    text = f'{head.replace("UTF-8", "UTF-16")}\n{doctype}\n{rest}'
    bundle = hostile_file(tmp_path, "bpmn", text.encode("utf-16"))
    problems = sqlite_service.validate([bundle])
    assert problems == [Problem("hostile.bpmn", 1, None, NOT_UTF8)]     # only UTF-8 is accepted at all
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle])
    assert_token_absent(problems, refused.value, dump(sqlite_service))
    assert counts(sqlite_service) == NOTHING


@pytest.mark.parametrize("encoding", ["utf-8-after-8kb", "utf-16"])
def test_a_late_or_utf16_doctype_is_reported_on_its_own_line(encoding, sqlite_service, tmp_path):
    head, rest = render_bpmn().split("\n", 1)
    if encoding == "utf-16":
        data = f'{head.replace("UTF-8", "UTF-16")}\n<!DOCTYPE definitions>\n{rest}'.encode("utf-16")
        expected = Problem("hostile.bpmn", 1, None, NOT_UTF8)
    else:
        data = f"{head}\n<!-- {'x' * 9000} -->\n<!DOCTYPE definitions>\n{rest}".encode()
        expected = Problem("hostile.bpmn", 3, None, DOCTYPE_REFUSED)
    problems = sqlite_service.validate([hostile_file(tmp_path, "bpmn", data)])
    assert problems == [expected]


def test_xinclude_is_not_processed(sqlite_service, run_cli, secret, probe, tmp_path):
    base, hits = probe
    text = render_bpmn().replace(
        "  <bpmn:process", f'  <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret.as_uri()}" '
                         f'parse="text"/>\n  <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                         f'href="{base}/x.xml"/>\n  <bpmn:process', 1)
    bundle = hostile_file(tmp_path, "bpmn", text)
    problems = sqlite_service.validate([bundle])
    assert problems[0].file == "hostile.bpmn" and problems[0].line == 3
    assert problems[0].message.startswith("schema: Element '{http://www.w3.org/2001/XInclude}include': "
                                          "This element is not expected.")
    with pytest.raises(SpecInvalid):
        sqlite_service.deploy([bundle])
    assert_token_absent(problems, dump(sqlite_service))
    assert (counts(sqlite_service), hits) == (NOTHING, [])


def _padded(text: str, size: int, closing: str) -> bytes:
    """`text` grown to exactly `size` bytes by a comment before its closing tag."""
    filler = size - len(text.encode()) - len("<!---->\n")
    padded = text.replace(closing, f"<!--{'x' * filler}-->\n{closing}")
    assert len(padded.encode()) == size
    return padded.encode()


@pytest.mark.parametrize("kind", ["bpmn", "dmn"])
def test_a_file_over_2_mb_is_refused_and_one_at_the_limit_is_not(kind, sqlite_service, run_cli, tmp_path):
    template, closing = (render_bpmn(), "</bpmn:definitions>") if kind == "bpmn" else (render_dmn(), "</definitions>")
    at_limit = hostile_file(tmp_path / "ok", kind, _padded(template, MAX_XML_BYTES, closing))
    assert sqlite_service.validate([at_limit]) == []
    over = hostile_file(tmp_path / "big", kind, _padded(template, MAX_XML_BYTES + 1, closing))
    message = "file is 2,000,001 bytes; the limit is 2,000,000 bytes"
    assert_refused(sqlite_service, run_cli, [over], Problem(FILES[kind], None, None, message), FOLLOW_ON[kind])


MALFORMED = {
    "bpmn": ("</bpmn:process>", "</bpmn:proces>", 77,
             "not well-formed XML: Opening and ending tag mismatch: process line 3 and proces, line 77, column 17"),
    "dmn": ("</decisionTable>", "</decisionTabel>", 28,
            "not well-formed XML: Opening and ending tag mismatch: decisionTable line 5 and decisionTabel, "
            "line 28, column 21"),
}


@pytest.mark.parametrize("kind", ["bpmn", "dmn"])
def test_malformed_xml_names_its_line(kind, sqlite_service, run_cli, tmp_path):
    good, bad, line, message = MALFORMED[kind]
    template = render_bpmn() if kind == "bpmn" else render_dmn()
    bundle = hostile_file(tmp_path, kind, template.replace(good, bad))
    assert_refused(sqlite_service, run_cli, [bundle], Problem(FILES[kind], line, None, message), FOLLOW_ON[kind])


def test_an_empty_file_is_refused(sqlite_service, run_cli, tmp_path):
    bundle = hostile_file(tmp_path, "bpmn", b"")
    assert_refused(sqlite_service, run_cli, [bundle],
                   Problem("hostile.bpmn", 1, None, "not well-formed XML: Document is empty, line 1, column 1"),
                   FOLLOW_ON["bpmn"])


def test_undeclared_latin1_bytes_are_refused_with_their_line(sqlite_service, run_cli, tmp_path):
    text = render_bpmn().replace("fixture for hostile input", "caf\xe9").encode("latin-1")
    bundle = hostile_file(tmp_path, "bpmn", text)
    problems = sqlite_service.validate([bundle])
    assert problems == [Problem("hostile.bpmn", 4, None, NOT_UTF8)]
    checked = run_cli("validate", bundle)
    assert (checked.exit_code, checked.stdout) == (1, "".join(f"{p}\n" for p in problems))
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle])
    assert refused.value.problems == problems
    deployed = run_cli("deploy", bundle)
    assert (deployed.exit_code, deployed.stderr) == (1, f"hostile.bpmn:4 -: {NOT_UTF8}\n")
    assert counts(sqlite_service) == NOTHING


def gbk_bundle(tmp_path: Path) -> Path:
    """A well-formed BPMN file in GBK, declared as such (parses; is not UTF-8)."""
    text = render_bpmn().replace('encoding="UTF-8"', 'encoding="GBK"').replace("fixture for hostile input", "协商")
    return hostile_file(tmp_path, "bpmn", text.encode("gbk"))


def test_a_non_utf8_file_is_refused_at_deploy(sqlite_service, run_cli, tmp_path):
    bundle = gbk_bundle(tmp_path)
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle], actor="owner")
    assert [str(p) for p in refused.value.problems] == [f"hostile.bpmn:1 -: {GBK_DECLARED}"]
    deployed = run_cli("deploy", bundle)
    assert (deployed.exit_code, deployed.stdout, deployed.stderr) == (1, "", f"hostile.bpmn:1 -: {GBK_DECLARED}\n")
    assert counts(sqlite_service) == NOTHING


def test_validate_reports_a_non_utf8_file(sqlite_service, run_cli, tmp_path):
    bundle = gbk_bundle(tmp_path)
    assert [str(p) for p in sqlite_service.validate([bundle])] == [f"hostile.bpmn:1 -: {GBK_DECLARED}"]
    assert run_cli("validate", bundle).exit_code == 1


@pytest.mark.parametrize("single_file", [False, True])
def test_a_bundle_path_that_does_not_exist(single_file, sqlite_service, run_cli, tmp_path):
    missing = tmp_path / ("nope.bpmn" if single_file else "nope")
    problem = Problem(str(missing), None, None, "no such file or directory")
    assert_refused(sqlite_service, run_cli, [missing], problem)


@pytest.mark.parametrize("kind", ["bpmn", "dmn"])
def test_a_refused_file_is_reported_once(kind, sqlite_service, tmp_path):
    template = render_bpmn() if kind == "bpmn" else render_dmn()
    bundle = hostile_file(tmp_path, kind, with_doctype(template, "<!DOCTYPE definitions>", None))
    assert sqlite_service.validate([bundle]) == [Problem(FILES[kind], 2, None, DOCTYPE_REFUSED)]


# --------------------------------------------------------------------------------------------------
# Bundle loading: files outside the bundle are never read into a version.
# --------------------------------------------------------------------------------------------------
def leaky_form(tmp_path: Path) -> Path:
    """A valid JSON Schema outside the bundle that carries the secret token."""
    leak = tmp_path / "outside" / "leak.schema.json"
    leak.parent.mkdir()
    leak.write_text(json.dumps({"type": "object", "description": TOKEN}))
    return leak


@pytest.mark.parametrize("mode", ["directory", "relative-file", "absolute-directory"])
def test_a_form_outside_the_bundle_is_not_read(mode, sqlite_service, run_cli, tmp_path):
    leak = leaky_form(tmp_path)
    reference = str(leak) if mode.startswith("absolute") else "../outside/leak.schema.json"
    bundle = write_bundle(tmp_path / "bundle", bpmn=render_bpmn().replace('value="start.schema.json"',
                                                                          f'value="{reference}"'))
    target = bundle / "hostile.bpmn" if mode == "relative-file" else bundle
    resolved = str(leak) if mode.startswith("absolute") else "../outside/leak.schema.json"
    problem = Problem("hostile.bpmn", 5, "start",
                      f"formJsonSchemaFilename: form file {resolved} is missing from the bundle")
    # a single .bpmn file brings its forms but not the DMN it calls
    # a single .bpmn file brings its forms but not the DMN its rule task calls
    missing_dmn = ["hostile.bpmn:20 rule_task: unknown DMN decision id 'grade'"]
    assert_refused(sqlite_service, run_cli, [target], problem, missing_dmn if mode == "relative-file" else ())


def test_an_absolute_form_path_in_a_single_file_deploy_is_not_read(sqlite_service, tmp_path):
    leak = leaky_form(tmp_path)
    bpmn = tmp_path / "mini" / "mini.bpmn"       # the sample bundle, which deploys as a single file
    bpmn.parent.mkdir()
    bpmn.write_text((DATA / "mini" / "mini.bpmn").read_text().replace('value="forms/start.schema.json"',
                                                                       f'value="{leak}"'))
    (bpmn.parent / "forms").mkdir()
    (bpmn.parent / "forms" / "review.schema.json").write_bytes((DATA / "mini/forms/review.schema.json").read_bytes())
    try:
        sqlite_service.deploy([bpmn], actor="owner")
    except SpecInvalid as refused:
        assert refused.problems[0] == Problem(
            "mini.bpmn", 22, "start", f"formJsonSchemaFilename: form file {leak} is missing from the bundle")
    assert_token_absent(dump(sqlite_service))


def test_a_symlink_out_of_the_bundle_is_not_read(sqlite_service, tmp_path):
    leak = leaky_form(tmp_path)
    bundle = write_bundle(tmp_path / "bundle")
    (bundle / "notes.json").symlink_to(leak)
    try:
        sqlite_service.deploy([bundle], actor="owner")
    except SpecInvalid as refused:
        assert any(p.file == "notes.json" for p in refused.problems)
    assert_token_absent(dump(sqlite_service))


