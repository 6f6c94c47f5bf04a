"""Hostile input (XXE, entity bombs, bad files, sandbox escapes, endless loops, tampering): refused, nothing kept."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.cli import cli
from engine.db import Base
from engine.errors import Problem, ScriptError, SpecInvalid, ValidationFailed
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance, ProcessVersion
from engine.xmlsafe import MAX_XML_BYTES
from tests.conftest import DATA, ROOT

TOKEN = "XS-HOSTILE-7f3c9a1e-SECRET"   # lives only in files the engine must never read
ACTOR = "clerk"                         # the review task's `assignee`, so no directory rows are needed

# --------------------------------------------------------------------------------------------------
# Fixture bundle: every place diagram code lives, with a safe default that each test may replace.
# Line numbers below are those of the rendered templates (single-line code).
# --------------------------------------------------------------------------------------------------
SAFE = {
    "script": "greeting = 'hello'",
    "pre": "seen = 1",
    "post": "reviewed = True",
    "org_unit": '"county"',
    "assignee": '"clerk"',
    "condition": "approved == True",
    "param": "'ok: ' + greeting",
    "timer": '"P2D"',
    "dmn_input": "greeting",
    "dmn_entry": '"hello"',
    "dmn_output": '"low"',
}

BPMN_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" \
targetNamespace="http://xieshang.test/hostile">
  <bpmn:process id="hostile" name="Hostile" isExecutable="true">
    <bpmn:documentation>fixture for hostile input</bpmn:documentation>
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="start.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="script_task" name="Script">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:businessRuleTask id="rule_task" name="Rule">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>grade</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
          <spiffworkflow:property name="orgUnit" value={org_unit_attr} />
          <spiffworkflow:property name="assignee" value={assignee_attr} />
        </spiffworkflow:properties>
        <spiffworkflow:preScript>{pre}</spiffworkflow:preScript>
        <spiffworkflow:postScript>{post}</spiffworkflow:postScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" name="Approved?" default="f_no">
      <bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing>
      <bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="notify_task">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:serviceTask id="notify_task" name="Notify">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify" resultVariable="notified">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="message" type="str" value={param_attr} />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f_yes</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f5</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration>{timer}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end_yes">
      <bpmn:incoming>f6</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="end_no">
      <bpmn:incoming>f_no</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script_task" />
    <bpmn:sequenceFlow id="f2" sourceRef="script_task" targetRef="rule_task" />
    <bpmn:sequenceFlow id="f3" sourceRef="rule_task" targetRef="review" />
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="gw" />
    <bpmn:sequenceFlow id="f5" sourceRef="notify_task" targetRef="wait" />
    <bpmn:sequenceFlow id="f6" sourceRef="wait" targetRef="end_yes" />
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end_no" />
  </bpmn:process>
</bpmn:definitions>
"""

DMN_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="grade_defs" name="Grade" \
namespace="http://xieshang.test/hostile">
  <decision id="grade" name="Grade">
    <description>fixture for hostile input</description>
    <decisionTable id="grade_table" hitPolicy="FIRST">
      <input id="grade_in" label="Greeting">
        <inputExpression id="grade_in_expr" typeRef="string">
          <text>{dmn_input}</text>
        </inputExpression>
      </input>
      <output id="grade_out" name="{dmn_output_name}" typeRef="string" />
      <rule id="grade_rule_1">
        <inputEntry id="grade_rule_1_in">
          <text>{dmn_entry}</text>
        </inputEntry>
        <outputEntry id="grade_rule_1_out">
          <text>{dmn_output}</text>
        </outputEntry>
      </rule>
      <rule id="grade_rule_2">
        <inputEntry id="grade_rule_2_in">
          <text>-</text>
        </inputEntry>
        <outputEntry id="grade_rule_2_out">
          <text>"other"</text>
        </outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

START_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": {"title": {"type": "string", "maxLength": 50}}}
REVIEW_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                 "required": ["approved"],
                 "properties": {"approved": {"type": "boolean"}, "comment": {"type": "string", "maxLength": 20}}}


def render_bpmn(**code: str) -> str:
    """The fixture BPMN with `code` replacing the safe default in the named places."""
    c = {**SAFE, **code}
    return BPMN_TEMPLATE.format(
        script=escape(c["script"]), pre=escape(c["pre"]), post=escape(c["post"]),
        condition=escape(c["condition"]), timer=escape(c["timer"]),
        org_unit_attr=quoteattr(c["org_unit"]), assignee_attr=quoteattr(c["assignee"]),
        param_attr=quoteattr(c["param"]))


def render_dmn(dmn_output_name: str = "level", **code: str) -> str:
    """The fixture DMN decision `grade` with `code` in its cells."""
    c = {**SAFE, **code}
    return DMN_TEMPLATE.format(dmn_input=escape(c["dmn_input"]), dmn_entry=escape(c["dmn_entry"]),
                               dmn_output=escape(c["dmn_output"]), dmn_output_name=dmn_output_name)


def write_bundle(path: Path, bpmn: str | bytes | None = None, dmn: str | bytes | None = None,
                 dmn_output_name: str = "level", **code: str) -> Path:
    """A bundle directory: hostile.bpmn, grade.dmn and the two forms."""
    path.mkdir(parents=True, exist_ok=True)
    bpmn = render_bpmn(**code) if bpmn is None else bpmn
    dmn = render_dmn(dmn_output_name, **code) if dmn is None else dmn
    (path / "hostile.bpmn").write_bytes(bpmn.encode() if isinstance(bpmn, str) else bpmn)
    (path / "grade.dmn").write_bytes(dmn.encode() if isinstance(dmn, str) else dmn)
    (path / "start.schema.json").write_text(json.dumps(START_SCHEMA))
    (path / "review.schema.json").write_text(json.dumps(REVIEW_SCHEMA))
    return path


@dataclass(frozen=True)
class Where:
    """A place diagram code lives: where a deploy-time problem points, and which call runs it."""

    key: str
    file: str
    line: int
    static_id: str      # element id on the deploy-time Problem
    runtime_id: str     # element id on the run-time ScriptError
    phase: str          # "start": runs in start_instance; "complete": runs in complete_task(review)


PLACES = [   # in document order, as problems are listed
    Where("script", "hostile.bpmn", 16, "script_task", "script_task", "start"),
    Where("org_unit", "hostile.bpmn", 29, "review", "review", "start"),
    Where("assignee", "hostile.bpmn", 30, "review", "review", "start"),
    Where("pre", "hostile.bpmn", 32, "review", "review", "start"),
    Where("post", "hostile.bpmn", 33, "review", "review", "complete"),
    Where("condition", "hostile.bpmn", 44, "f_yes", "gw", "complete"),
    Where("param", "hostile.bpmn", 50, "notify_task", "notify_task", "complete"),
    Where("timer", "hostile.bpmn", 61, "wait", "wait", "complete"),
    Where("dmn_input", "grade.dmn", 8, "grade_in_expr", "rule_task", "start"),
    Where("dmn_entry", "grade.dmn", 14, "grade_rule_1_in", "rule_task", "start"),
    Where("dmn_output", "grade.dmn", 17, "grade_rule_1_out", "rule_task", "start"),
]
PLACE = {p.key: p for p in PLACES}


# --------------------------------------------------------------------------------------------------
# What was read, what was stored.
# --------------------------------------------------------------------------------------------------
COUNTED = (ProcessVersion, ProcessInstance, HumanTask, AuditEvent, OutboxMessage)


def counts(service) -> dict[str, int]:
    """Row counts of the tables a command writes."""
    with service.unit_of_work() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def dump(service) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order (compared before/after, searched for the token)."""
    with service.unit_of_work() as session:
        return {t.name: [tuple(r) for r in session.execute(select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables}


def assert_token_absent(*texts) -> None:
    """The secret never shows up in anything a person or the database gets."""
    for text in texts:
        assert TOKEN not in str(text)


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file with a unique token that no hostile document may read."""
    path = tmp_path / "secret.txt"
    path.write_text(f"{TOKEN}\n")
    return path


@pytest.fixture
def probe():
    """An HTTP server on 127.0.0.1 recording every request; yields (base URL, hits)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            hits.append(self.path)
            body = f'<!ENTITY leak "{TOKEN}">'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml-dtd")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def run_cli(sqlite_url, tmp_path, monkeypatch):
    """Invoke the CLI on the same SQLite database as `sqlite_service`; returns the click Result."""
    monkeypatch.setenv("XIESHANG_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, [str(a) for a in args])
        # exit 1 through sys.exit, never an escaped exception (which a terminal would show as a traceback)
        assert result.exception is None or type(result.exception) is SystemExit, result.exception
        assert "Traceback" not in result.output
        return result

    return invoke


def test_probe_server_sees_requests(probe):
    """The zero-hit assertions below can fail: a real fetch is counted."""
    base, hits = probe
    with urllib.request.urlopen(f"{base}/canary") as response:
        assert TOKEN.encode() in response.read()
    assert hits == ["/canary"]


def test_fixture_bundle_is_valid_and_runs(sqlite_service, tmp_path):
    """The safe fixture deploys and runs end to end, so every refusal below is caused by the hostile part."""
    bundle = write_bundle(tmp_path / "ok")
    assert sqlite_service.validate([bundle]) == []
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {"title": "t"})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    assert (task.task_spec, task.assignee, task.org_unit) == ("review", "clerk", "county")
    sqlite_service.complete_task(task.id, {"approved": True}, ACTOR)
    view = sqlite_service.show_instance(instance_id)
    assert view.status == "waiting"
    assert view.data == {"title": "t", "greeting": "hello", "level": "low", "seen": 1, "approved": True,
                         "reviewed": True, "notified": {"queued": True, "operator": "notify"}}


# --------------------------------------------------------------------------------------------------
# XML: DTDs, entities, network, size, well-formedness, encoding; BPMN and DMN; engine and CLI.
# --------------------------------------------------------------------------------------------------
DOCTYPE_REFUSED = "DOCTYPE and ENTITY declarations are not allowed"
FILES = {"bpmn": "hostile.bpmn", "dmn": "grade.dmn"}
# A refused file also leaves the rest of the bundle incomplete; these follow-on lines are tolerated here
# (test_a_refused_file_is_reported_once asks for them to go away).
# A refused file stops the checks that depend on its content, so nothing follows its problem.
FOLLOW_ON = {"bpmn": [], "dmn": []}
NOTHING = {m.__tablename__: 0 for m in COUNTED}


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


def with_doctype(text: str, doctype: str, reference: str | None) -> str:
    """`text` with `doctype` as its second line and `reference` in its documentation."""
    head, rest = text.split("\n", 1)
    if reference is not None:
        rest = rest.replace("fixture for hostile input", reference)
    return f"{head}\n{doctype}\n{rest}"


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


# --------------------------------------------------------------------------------------------------
# Scripts and expressions refused when deploying: every problem, each with its file, line and element.
# --------------------------------------------------------------------------------------------------
SANDBOX = "refused by the script sandbox: "


def _underscore(name: str, kind: str = "attribute") -> str:
    dot = "." if kind == "attribute" else ""
    return f'Line 1: "{name}" is an invalid {kind} name because it starts with "_"{dot}'


def _restricted(name: str) -> str:
    return f'Line 1: "{name}" is a restricted name, that is forbidden to access in RestrictedPython.'


STATIC_ESCAPES = {
    "dunder-import": ("__import__('os')", _underscore("__import__", "variable")),
    "subclasses-walk": ("().__class__.__base__.__subclasses__()", "; ".join(
        _underscore(n) for n in ("__subclasses__", "__base__", "__class__"))),
    "catch-warnings-escape": (
        "[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
        "._module.__builtins__['__import__']('os').system('id')",
        "; ".join(_underscore(n) for n in ("__builtins__", "_module", "__subclasses__", "__bases__", "__class__",
                                           "__name__"))),
    "mro": ("type(greeting).__mro__", _underscore("__mro__")),
    "class-dict": ("str.__dict__", _underscore("__dict__")),
    "builtins-name": ("__builtins__", _underscore("__builtins__", "variable")),
    "sandbox-hook-name": ("_getattr_", _underscore("_getattr_", "variable")),
    "helper-globals": ("today.__globals__", _underscore("__globals__")),
    "lambda-globals": ("(lambda: 0).__globals__", _underscore("__globals__")),
    "lambda-default-arg": ("(lambda f=().__class__: f)()", _underscore("__class__")),
    "fstring-dunder": ("f'{greeting.__class__}'", _underscore("__class__")),
    "generator-frame": ("(x for x in []).gi_frame", _restricted("gi_frame")),
    "generator-code": ("(x for x in []).gi_code", _restricted("gi_code")),
    "frame-back": ("greeting.f_back", _restricted("f_back")),
    "frame-globals": ("greeting.f_globals", _restricted("f_globals")),
    "traceback-frame": ("greeting.tb_frame", _restricted("tb_frame")),
    "exec": ("exec('y = 1')", "Line 1: Exec calls are not allowed."),
    "eval": ("eval('1')", "Line 1: Eval calls are not allowed."),
}


@pytest.mark.parametrize("name", list(STATIC_ESCAPES))
def test_an_escape_is_refused_at_deploy_in_every_place_code_lives(name, sqlite_service, tmp_path):
    code, reason = STATIC_ESCAPES[name]
    bundle = write_bundle(tmp_path / "bundle", **{place.key: code for place in PLACES})
    expected = [Problem(p.file, p.line, p.static_id, SANDBOX + reason) for p in PLACES]
    assert sqlite_service.validate([bundle]) == expected
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle], actor="owner")
    assert refused.value.problems == expected
    assert counts(sqlite_service) == NOTHING


IMPORT_REFUSED = SANDBOX + "Line 1: import is not allowed in diagram scripts; use the provided helpers"


@pytest.mark.parametrize("code", ["import os", "from os import path", "import os.path as p"])
def test_imports_are_refused_at_deploy(code, sqlite_service, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", **{place.key: code for place in PLACES})
    unparsable = f"unparsable expression: invalid syntax ({code!r})"
    entry = f"unparsable expression: invalid syntax ({'dmninputexpr ' + code!r})"
    expected = [Problem(p.file, p.line, p.static_id,
                        IMPORT_REFUSED if p.key in {"script", "pre", "post"}
                        else entry if p.key == "dmn_entry" else unparsable) for p in PLACES]
    assert sqlite_service.validate([bundle]) == expected
    with pytest.raises(SpecInvalid):
        sqlite_service.deploy([bundle], actor="owner")
    assert counts(sqlite_service) == NOTHING


MIXED = {
    "script": "import os",
    "pre": "(x for x in []).gi_frame",
    "post": "exec('y = 1')",
    "org_unit": "__builtins__",
    "assignee": "today.__globals__",
    "condition": "type(approved).__mro__",
    "param": "str.__dict__",
    "timer": "f'{greeting.__class__}'",
    "dmn_input": "(lambda f=().__class__: f)()",
    "dmn_entry": "__import__('os')",
    "dmn_output": "eval('1')",
}
MIXED_LINES = [
    "hostile.bpmn:16 script_task: " + IMPORT_REFUSED,
    "hostile.bpmn:29 review: " + SANDBOX + _underscore("__builtins__", "variable"),
    "hostile.bpmn:30 review: " + SANDBOX + _underscore("__globals__"),
    "hostile.bpmn:32 review: " + SANDBOX + _restricted("gi_frame"),
    "hostile.bpmn:33 review: " + SANDBOX + "Line 1: Exec calls are not allowed.",
    "hostile.bpmn:44 f_yes: " + SANDBOX + _underscore("__mro__"),
    "hostile.bpmn:50 notify_task: " + SANDBOX + _underscore("__dict__"),
    "hostile.bpmn:61 wait: " + SANDBOX + _underscore("__class__"),
    "grade.dmn:8 grade_in_expr: " + SANDBOX + _underscore("__class__"),
    "grade.dmn:14 grade_rule_1_in: " + SANDBOX + _underscore("__import__", "variable"),
    "grade.dmn:17 grade_rule_1_out: " + SANDBOX + "Line 1: Eval calls are not allowed.",
]


def test_one_diagram_with_many_bad_scripts_lists_every_problem(sqlite_service, run_cli, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", **MIXED)
    assert [str(p) for p in sqlite_service.validate([bundle])] == MIXED_LINES
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle], actor="owner")
    assert str(refused.value) == "\n".join(MIXED_LINES)
    checked = run_cli("validate", bundle)
    assert (checked.exit_code, checked.stdout) == (1, "".join(f"{line}\n" for line in MIXED_LINES))
    deployed = run_cli("deploy", bundle)
    assert (deployed.exit_code, deployed.stdout, deployed.stderr) == (1, "", "".join(f"{x}\n" for x in MIXED_LINES))
    assert counts(sqlite_service) == NOTHING


# --------------------------------------------------------------------------------------------------
# Code that compiles but must fail when it runs: start_instance or complete_task raises ScriptError
# naming the element; nothing is stored; a task that failed to complete stays ready.
# --------------------------------------------------------------------------------------------------
def refuse_at_run_time(service, place: Where, code: str, tmp_path: Path, data: dict | None = None) -> ScriptError:
    """Deploy `code` at `place`, run it, return the ScriptError; asserts nothing was stored or changed."""
    bundle = write_bundle(tmp_path / "bundle", **{place.key: code})
    assert service.validate([bundle]) == []          # it compiles: only running it can refuse it
    service.deploy([bundle], actor="owner")
    task = None
    if place.phase == "complete":
        instance_id = service.start_instance("hostile", {})
        [task] = service.list_tasks(instance_id=instance_id)
    before, before_counts = dump(service), counts(service)
    started = time.monotonic()
    with pytest.raises(ScriptError) as refused:
        if task is None:
            service.start_instance("hostile", data or {})
        else:
            service.complete_task(task.id, data or {"approved": True}, ACTOR)
    assert time.monotonic() - started < 5
    after = dump(service)
    assert (counts(service), after) == (before_counts, before)
    if task is not None:
        assert [t.id for t in service.list_tasks(instance_id=task.instance_id)] == [task.id]
    assert refused.value.element_id == place.runtime_id
    assert_token_absent(refused.value, after)
    return refused.value


def spiff_message(element: str, reason: str, *context: str) -> str:
    """The ScriptError text: `element: root cause — where SpiffWorkflow says it happened; note; note`."""
    notes = [c.strip() for c in context if c.strip()]
    return f"{element}: {reason}" + (" — " + "; ".join(notes) if notes else "")


RULE_NOTE = "Business Rule Task 'Rule'."


def expected_run_time_message(place: Where, code: str, error: str, hint: str = "") -> str:
    """What a person sees when `code` fails at `place` with `error` (`Type:message`) and Spiff's name `hint`."""
    hints = [hint] if hint else []
    reason = error.replace(":", ": ", 1)
    if place.key == "script":
        return spiff_message(place.runtime_id, reason, *hints)
    if place.key in {"pre", "post"}:
        return spiff_message(place.runtime_id, reason, *hints, f"Error occurred in the {place.key.title()}-Script")
    if place.key == "dmn_input":
        return spiff_message("rule_task", reason, f"Error evaluating expression '({code}) == (\"hello\")'", *hints,
                             "Rule failed on row 1", RULE_NOTE)
    if place.key == "dmn_entry":
        return spiff_message("rule_task", reason, f"Error evaluating expression '(greeting) == ({code})'", *hints,
                             "Rule failed on row 1", RULE_NOTE)
    if place.key == "dmn_output":
        return spiff_message("rule_task", reason, f"Error evaluating expression '{code}'", *hints, RULE_NOTE)
    return spiff_message(place.runtime_id, reason, f"Error evaluating expression '{code}'", *hints)


NOT_UTF8 = "not UTF-8 text; save the file as UTF-8"
GBK_DECLARED = "declares encoding GBK; only UTF-8 is accepted"
FORMAT_REFUSED = "NotImplementedError:Using the format*() methods of `str` is not safe"
FORMAT_ESCAPES = {
    "format": "'{0.__class__}'.format(greeting)",
    "format_map": "'{x.__class__}'.format_map({'x': greeting})",
    "unbound-format": "str.format('{0.__class__.__init__.__globals__}', greeting)",
}
# SpiffWorkflow's "did you mean" for an unknown name lists the task data names at that point
NAME_HINTS = {
    "script": "",
    "pre": " Did you mean one of '['level', 'greeting']'?",
    "dmn_input": " Did you mean 'greeting'?",
    "dmn_entry": " Did you mean 'greeting'?",
    "dmn_output": " Did you mean 'greeting'?",
}
LATER_HINT = " Did you mean one of '['seen', 'level', 'greeting']'?"


@pytest.mark.parametrize("escape_name", list(FORMAT_ESCAPES))
@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_format_string_escapes_fail_at_run_time(place, escape_name, sqlite_service, tmp_path):
    code = FORMAT_ESCAPES[escape_name]
    error = refuse_at_run_time(sqlite_service, place, code, tmp_path)
    assert str(error) == expected_run_time_message(place, code, FORMAT_REFUSED)


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_open_is_not_available_anywhere(place, sqlite_service, secret, tmp_path):
    code = f"open({str(secret)!r}).read()"
    error = refuse_at_run_time(sqlite_service, place, code, tmp_path)
    hint = NAME_HINTS.get(place.key, LATER_HINT)
    assert str(error) == expected_run_time_message(place, code, "NameError:name 'open' is not defined", hint)


MISSING_NAMES = {
    "getattr": "getattr(greeting, '__globals__')",
    "compile": "compile('1', 'f', 'eval')",
    "globals": "globals()",
    "vars": "vars()",
    "locals": "locals()",
    "dir": "dir()",
    "type": "type('')",
    "task": "task.workflow",
    "self": "self.environment",
    "breakpointhook": "sys.breakpointhook()",
}


@pytest.mark.parametrize("name", list(MISSING_NAMES))
@pytest.mark.parametrize("key", ["script", "dmn_output"])
def test_introspection_and_engine_objects_are_not_reachable(key, name, sqlite_service, tmp_path):
    place, code = PLACE[key], MISSING_NAMES[name]
    error = refuse_at_run_time(sqlite_service, place, code, tmp_path)
    missing = code.split("(")[0].split(".")[0]
    assert str(error) == expected_run_time_message(place, code, f"NameError:name '{missing}' is not defined",
                                                   NAME_HINTS[key])


@pytest.mark.parametrize("code", ["today.x = 1", "setattr(today, 'x', 1)", "delattr(today, 'x')"])
def test_helpers_cannot_be_modified(code, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["script"], code, tmp_path)
    assert str(error) == "script_task: TypeError: attribute-less object (assign or del)"


@pytest.mark.parametrize("key", ["org_unit", "assignee", "condition", "param", "timer", "dmn_output"])
def test_expression_errors_say_why(key, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE[key], FORMAT_ESCAPES["format"], tmp_path)
    assert "format*() methods of `str` is not safe" in str(error)


# --------------------------------------------------------------------------------------------------
# Endless loops: deploy accepts them (undecidable), running them stops within the CPU budget.
# --------------------------------------------------------------------------------------------------
def budget_message(element: str, *notes: str) -> re.Pattern:
    """The ScriptError text of a loop stopped by the budget (the iteration count depends on the machine)."""
    tail = re.escape(" — " + "; ".join(notes)) if notes else ""
    return re.compile(re.escape(f"{element}: script stopped: stopped after ") + r"\d+"
                      + re.escape(" loop iterations (CPU budget exceeded)") + tail)


LOOPS = {
    "while-true": "while True:\n    pass",
    "while-1": "while 1:\n    x = 1",
    "comprehension-chain": "total = 0\nfor v in [a * b for a in range(999) for b in range(999) for c in range(999)]:\n"
                           "    total += v",
    "nested-for": "n = 0\nfor a in range(999):\n    for b in range(999):\n        for c in range(999):\n"
                  "            n += 1",
}


@pytest.mark.parametrize("name", list(LOOPS))
def test_an_endless_loop_in_a_script_task_is_stopped(name, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["script"], LOOPS[name], tmp_path)
    assert budget_message("script_task").fullmatch(str(error))


def test_an_endless_loop_in_a_pre_script_is_stopped(sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["pre"], LOOPS["while-true"], tmp_path)
    assert budget_message("review", "Error occurred in the Pre-Script").fullmatch(str(error))


def test_an_endless_loop_in_a_post_script_leaves_the_task_ready_and_the_state_untouched(sqlite_service, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", post=LOOPS["while-true"])
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {"title": "t"})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    with sqlite_service.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        state, revision, status = row.state, row.revision, row.status
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.complete_task(task.id, {"approved": True, "comment": "ok"}, ACTOR, revision=task.revision)
    assert refused.value.element_id == "review"
    assert budget_message("review", "Error occurred in the Post-Script").fullmatch(str(refused.value))
    with sqlite_service.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert (row.state, row.revision, row.status) == (state, revision, status)
    assert dump(sqlite_service) == before
    assert [(t.id, t.status, t.revision) for t in sqlite_service.list_tasks(instance_id=instance_id)] == [
        (task.id, "ready", task.revision)]
    assert sqlite_service.show_instance(instance_id).data == {"title": "t", "greeting": "hello", "level": "low",
                                                              "seen": 1}


def test_deep_recursion_is_stopped(sqlite_service, tmp_path):
    code = "def f(n):\n    return f(n + 1)\nresult = f(0)"
    error = refuse_at_run_time(sqlite_service, PLACE["script"], code, tmp_path)
    assert str(error) == "script_task: RecursionError: maximum recursion depth exceeded"


TIMER_THEN_LOOP = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="timed_loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="later">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="later_timer">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="spin"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>while True:
    pass</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="later" />
    <bpmn:sequenceFlow id="f2" sourceRef="later" targetRef="spin" />
    <bpmn:sequenceFlow id="f3" sourceRef="spin" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_endless_loop_after_a_timer_is_stopped_in_the_sweep(sqlite_service, clock, tmp_path):
    bundle = tmp_path / "timed"
    bundle.mkdir()
    (bundle / "timed.bpmn").write_text(TIMER_THEN_LOOP)
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("timed_loop", {})
    with sqlite_service.unit_of_work() as session:
        state = session.get(ProcessInstance, instance_id).state
    clock.advance(hours=2)
    started = time.monotonic()
    assert sqlite_service.fire_due_timers() == []
    assert time.monotonic() - started < 5
    view = sqlite_service.show_instance(instance_id)
    assert (view.status, view.next_timer_at) == ("error", None)
    assert budget_message("spin").fullmatch(view.error)
    assert [e.kind for e in view.events] == ["instance_started", "script_error"]
    with sqlite_service.unit_of_work() as session:
        assert session.get(ProcessInstance, instance_id).state == state      # the failed step was not kept
    assert sqlite_service.fire_due_timers() == []                            # and is not retried in a loop
    assert counts(sqlite_service)["outbox_message"] == 0


CPU_BYPASSES = {   # each sets `greeting` afterwards, so the rest of the diagram runs when nothing stops it
    "exponential-recursion": "def f(n):\n    return 0 if n == 0 else f(n - 1) + f(n - 1)\nresult = f(21)\n"
                             "greeting = 'hello'",
    "nested-map": "n = sum(map(lambda a: sum(map(lambda b: sum(map(lambda c: 1, range(999))), range(999))), "
                  "range(3)))\ngreeting = 'hello'",
}


@pytest.mark.parametrize("name", list(CPU_BYPASSES))
def test_work_without_loops_is_bounded_too(name, sqlite_service, tmp_path):
    # 4 and 3 million calls: twice the 2,000,000-tick budget; unbounded variants of these run for hours
    error = refuse_at_run_time(sqlite_service, PLACE["script"], CPU_BYPASSES[name], tmp_path)
    assert "CPU budget exceeded" in str(error)


def test_a_budget_stop_in_an_expression_says_so(sqlite_service, tmp_path):
    code = "len([a for a in range(999) for b in range(999) for c in range(999)]) > 0"
    error = refuse_at_run_time(sqlite_service, PLACE["condition"], code, tmp_path)
    assert "CPU budget exceeded" in str(error)


CHILD = """\
import json, sys
from datetime import UTC, datetime
from engine.clock import FrozenClock
from engine.errors import ScriptError
from tests.conftest import make_service
service = make_service(sys.argv[1], FrozenClock(datetime(2026, 3, 2, 1, tzinfo=UTC)))
try:
    service.start_instance("hostile", {})
    print(json.dumps({"outcome": "started"}))
except ScriptError as exc:
    print(json.dumps({"outcome": "refused", "element": exc.element_id, "message": str(exc)}))
"""


def test_task_data_cannot_switch_the_budget_off(sqlite_service, sqlite_url, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", dmn_output_name="_tick_", dmn_output="lambda: None",
                          pre=LOOPS["while-true"])
    try:
        sqlite_service.deploy([bundle], actor="owner")
    except SpecInvalid as refused:          # refusing `_` output names at deploy is a fix too
        assert any("_tick_" in p.message and p.file == "grade.dmn" for p in refused.problems)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:   # in a child process: in this one the loop would never end
        child = subprocess.run([sys.executable, "-c", CHILD, sqlite_url], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=6)
    except subprocess.TimeoutExpired:
        pytest.fail("start_instance was still running after 6 s: the loop ran without a budget")
    assert json.loads(child.stdout)["element"] == "review"
    assert "CPU budget exceeded" in json.loads(child.stdout)["message"]


CYCLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="cycle" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="spin">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>rounds = rounds + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="f_out">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_back</bpmn:outgoing><bpmn:outgoing>f_out</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="spin">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end"><bpmn:incoming>f_out</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin" />
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="again" />
    <bpmn:sequenceFlow id="f_out" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_endless_cycle_through_a_gateway_is_stopped(sqlite_service, tmp_path):
    bundle = tmp_path / "cycle"
    bundle.mkdir()
    (bundle / "cycle.bpmn").write_text(CYCLE)
    sqlite_service.deploy([bundle], actor="owner")
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.start_instance("cycle", {"rounds": 0})
    assert refused.value.element_id in {"spin", "again"}
    assert dump(sqlite_service) == before


UNCHECKED = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="unchecked" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="looper"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:standardLoopCharacteristics>
        <bpmn:loopCondition>().__class__.__base__.__subclasses__()</bpmn:loopCondition>
      </bpmn:standardLoopCharacteristics>
      <bpmn:script>n = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="when"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:conditionalEventDefinition id="when_condition">
        <bpmn:condition>().__class__.__base__.__subclasses__()</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="looper" />
    <bpmn:sequenceFlow id="f2" sourceRef="looper" targetRef="when" />
    <bpmn:sequenceFlow id="f3" sourceRef="when" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
SUBCLASSES_REFUSED = STATIC_ESCAPES["subclasses-walk"][1]


def unchecked_bundle(tmp_path: Path) -> Path:
    """Code in a loop condition and a conditional event (places a static check could easily miss)."""
    bundle = tmp_path / "unchecked"
    bundle.mkdir()
    (bundle / "unchecked.bpmn").write_text(UNCHECKED)
    return bundle


def test_loop_and_conditional_event_conditions_are_checked_at_deploy(sqlite_service, tmp_path):
    assert sqlite_service.validate([unchecked_bundle(tmp_path)]) == [
        Problem("unchecked.bpmn", 7, "looper", SANDBOX + SUBCLASSES_REFUSED),
        Problem("unchecked.bpmn", 13, "when", SANDBOX + SUBCLASSES_REFUSED),
    ]


# --------------------------------------------------------------------------------------------------
# Submitted data: only the form's fields get in; wrong types get a message per field.
# --------------------------------------------------------------------------------------------------
TAMPERING = {"tier": "gold", "org_unit": "evil_unit", "__class__": 1, "_getattr_": 1, "_tick_": None,
             "greeting": "overwritten", "level": "high", "notified": "forged"}


@pytest.fixture
def deployed(sqlite_service, tmp_path):
    """The safe fixture bundle, deployed."""
    sqlite_service.deploy([write_bundle(tmp_path / "bundle")], actor="owner")
    return sqlite_service


def test_start_drops_keys_the_start_form_does_not_declare(deployed):
    instance_id = deployed.start_instance("hostile", {"title": "t", **TAMPERING})
    view = deployed.show_instance(instance_id)
    assert view.data == {"title": "t", "greeting": "hello", "level": "low", "seen": 1}
    assert (view.tier, view.org_unit) == (None, None)
    [task] = deployed.list_tasks(instance_id=instance_id)
    assert (task.org_unit, task.tier, task.assignee) == ("county", None, "clerk")


def test_complete_drops_keys_the_form_does_not_declare(deployed):
    instance_id = deployed.start_instance("hostile", {"title": "t"})
    [task] = deployed.list_tasks(instance_id=instance_id)
    deployed.complete_task(task.id, {"approved": True, "comment": "ok", **TAMPERING}, ACTOR)
    view = deployed.show_instance(instance_id)
    assert view.data == {"title": "t", "greeting": "hello", "level": "low", "seen": 1, "approved": True,
                         "comment": "ok", "reviewed": True, "notified": {"queued": True, "operator": "notify"}}
    assert (view.tier, view.org_unit) == (None, None)
    assert view.events[1].detail == {"task": "review", "name": "Review", "fields": ["approved", "comment"]}
    with deployed.unit_of_work() as session:
        [message] = session.scalars(select(OutboxMessage)).all()
        assert message.params == {"message": "ok: hello"}


INVALID = {
    "wrong-types": ({"approved": "yes", "comment": 5},
                    {"approved": ["类型不正确，应为 是/否"],
                     "comment": ["类型不正确，应为 文本"]}),
    "missing-and-too-long": ({"comment": "x" * 21, "tier": "gold"},
                             {"approved": ["此项为必填项"],
                              "comment": ["不能超过 20 个字"]}),
    "not-an-object": (["approved"], {"(form)": ["提交的数据必须是一个对象 (data must be a JSON object)"]}),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_data_gets_a_message_per_field_and_changes_nothing(case, deployed, run_cli):
    data, field_errors = INVALID[case]
    instance_id = deployed.start_instance("hostile", {"title": "t"})
    [task] = deployed.list_tasks(instance_id=instance_id)
    before = dump(deployed)
    with pytest.raises(ValidationFailed) as refused:
        deployed.complete_task(task.id, data, ACTOR)
    assert refused.value.field_errors == field_errors
    assert str(refused.value) == "invalid data\n" + "\n".join(
        f"{field}: {'; '.join(msgs)}" for field, msgs in sorted(field_errors.items()))
    completed = run_cli("complete", task.id, "--data", json.dumps(data, ensure_ascii=False), "--as", ACTOR)
    if isinstance(data, dict):
        assert (completed.exit_code, completed.stdout) == (1, "")
        assert completed.stderr == "表单数据无效 (invalid data):\n" + "".join(
            f"  {field}: {msg}\n" for field, msgs in sorted(field_errors.items()) for msg in msgs)
    else:   # the CLI refuses a non-object before the engine sees it
        assert completed.exit_code == 2 and "must be a JSON object" in completed.stderr
    assert dump(deployed) == before
    assert [t.id for t in deployed.list_tasks(instance_id=instance_id)] == [task.id]


# --------------------------------------------------------------------------------------------------
# The CLI shows run-time refusals as one line, exit 1, no traceback.
# --------------------------------------------------------------------------------------------------
def test_cli_start_shows_the_script_error(sqlite_service, run_cli, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", script=FORMAT_ESCAPES["format"])
    deployed = run_cli("deploy", bundle, "--json")
    assert deployed.exit_code == 0 and json.loads(deployed.stdout)["process_id"] == "hostile"
    before = dump(sqlite_service)
    started = run_cli("start", "hostile", "--data", "{}", "--json")
    assert (started.exit_code, started.stdout) == (1, "")
    assert started.stderr == f"错误 (error): script_task: {FORMAT_REFUSED.replace(':', ': ', 1)}\n"
    assert dump(sqlite_service) == before


def test_cli_complete_shows_the_budget_stop(sqlite_service, run_cli, tmp_path):
    sqlite_service.deploy([write_bundle(tmp_path / "bundle", post=LOOPS["while-1"])], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    before = dump(sqlite_service)
    completed = run_cli("complete", task.id, "--data", '{"approved": true}', "--as", ACTOR)
    assert (completed.exit_code, completed.stdout) == (1, "")
    pattern = budget_message("review", "Error occurred in the Post-Script").pattern
    assert re.fullmatch(re.escape("错误 (error): ") + pattern + "\n", completed.stderr)
    assert dump(sqlite_service) == before


# --------------------------------------------------------------------------------------------------
# Storage, on SQLite and PostgreSQL: a refused deploy and a failed start leave no row behind.
# --------------------------------------------------------------------------------------------------
def test_refusals_store_nothing(service, secret, tmp_path):
    xxe = with_doctype(render_bpmn(), f'<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>', "&xxe;")
    with pytest.raises(SpecInvalid) as refused:
        service.deploy([write_bundle(tmp_path / "xxe", bpmn=xxe)], actor="owner")
    assert refused.value.problems[0] == Problem("hostile.bpmn", 2, None, DOCTYPE_REFUSED)
    assert counts(service) == NOTHING
    service.deploy([write_bundle(tmp_path / "escape", script=FORMAT_ESCAPES["format_map"])], actor="owner")
    before = dump(service)
    assert counts(service) == {**NOTHING, "process_version": 1, "audit_event": 1}
    with pytest.raises(ScriptError) as failed:
        service.start_instance("hostile", {"title": "t"})
    assert str(failed.value) == f"script_task: {FORMAT_REFUSED.replace(':', ': ', 1)}"
    after = dump(service)
    assert after == before
    assert_token_absent(refused.value, failed.value, after)
