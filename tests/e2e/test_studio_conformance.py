"""The studio's modeler in headless Chromium reads and writes diagrams faithfully: every MIWG reference model opens
and saves back with the same elements (ids and types), and the consultation keeps every spiffworkflow extension
element (the moddle descriptor in webui/frontend/src/studio/spiffworkflow.json). One page serves every model."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from lxml import etree

from tests.conftest import CONSULTATION
from tests.e2e.conftest import Walk
from tests.e2e.test_walkthrough import as_person
from tests.processes.conformance_support import miwg_models, require_shared

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
DI = ("{http://www.omg.org/spec/BPMN/20100524/DI}", "{http://www.omg.org/spec/DD/20100524/DC}",
      "{http://www.omg.org/spec/DD/20100524/DI}")
# Attributes at their BPMN default, which bpmn-js does not write out: the same diagram for every reader.
DEFAULTS = {("isSequential", "false")}
ROUND_TRIP = """async (xml) => {
    const result = await window.XieshangStudio.open(xml);
    return {warnings: result.warnings.map(w => w.message), xml: await window.XieshangStudio.xml()};
}"""


def parse(xml: str | bytes):
    """A diagram's root (a reference model as the bytes of its file, with its own declared encoding)."""
    data = xml if isinstance(xml, bytes) else xml.encode()
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def text_of(data: bytes) -> str:
    """A file's text as a browser would read it: in the encoding its XML declaration names."""
    return data.decode(parse(data).getroottree().docinfo.encoding or "utf-8")


def elements(xml: str | bytes) -> Counter:
    """Every element with an id, as (id, namespace-qualified type), counted."""
    root = parse(xml)
    return Counter((node.get("id"), etree.QName(node).text) for node in root.iter()
                   if isinstance(node.tag, str) and node.get("id"))


def content(xml: str, only: str = "") -> Counter:
    """Every process element (not diagram layout) whose tag starts with `only`, with its owner's id, attributes and
    text, counted; spiffworkflow attributes on other elements too."""
    root = parse(xml)
    found: Counter = Counter()
    for node in root.iter():
        if not isinstance(node.tag, str) or node.tag.startswith(DI):
            continue
        for name, value in node.attrib.items():
            if name.startswith(SPIFF) and only:
                found[(_owner(node), etree.QName(name).localname, "@", value)] += 1
        if node.tag.startswith(only):
            attrs = {k: v for k, v in node.attrib.items() if (k, v) not in DEFAULTS}
            found[(_owner(node), etree.QName(node).localname, tuple(sorted(attrs.items())),
                   " ".join((node.text or "").split()))] += 1
    return found


def _owner(node) -> str:
    while node is not None and not (node.get("id") and not node.tag.startswith(SPIFF)):
        node = node.getparent()
    return node.get("id") if node is not None else "-"


@pytest.fixture(scope="module")
def modeler(browser, live_server, tmp_path_factory):
    """One signed-in page on the modeler, shared by every model of this module."""
    walk = Walk(browser, live_server, "desktop", tmp_path_factory.mktemp("studio"))
    page = as_person(walk, "owner")
    page.goto("/studio/processes/consultation/edit")
    page.wait_for_function("window.XieshangStudio && window.XieshangStudio.ready")
    page.evaluate("window.XieshangStudio.ready")
    yield page
    walk.close()
    live_server.engine.discard_draft("consultation", "owner")


def test_every_miwg_reference_model_saves_back_with_the_same_elements(modeler):
    require_shared()
    models = miwg_models()
    assert len(models) >= 20
    started = time.monotonic()
    changed = {}
    for model in models:
        original = model.read_bytes()
        saved = modeler.evaluate(ROUND_TRIP, text_of(original))
        before, after = elements(original), elements(saved["xml"])
        if before != after:
            changed[model.name] = {"lost": sorted(before - after)[:5], "added": sorted(after - before)[:5],
                                   "warnings": saved["warnings"][:3]}
    assert changed == {}
    assert time.monotonic() - started < 60


def test_the_consultation_keeps_every_spiffworkflow_extension_element(modeler):
    original = CONSULTATION.joinpath("consultation.bpmn").read_text(encoding="utf-8")
    saved = modeler.evaluate(ROUND_TRIP, original)
    assert elements(saved["xml"]) == elements(original)
    before, after = content(original, SPIFF), content(saved["xml"], SPIFF)
    assert sum(before.values()) > 240              # properties, operators, parameters, scripts, instructions …
    assert (before - after, after - before) == (Counter(), Counter())
    # and everything else the engine reads: names, scripts, conditions, timers, loop collections named by variable
    before, after = content(original), content(saved["xml"])
    assert (before - after, after - before) == (Counter(), Counter())


def select(page, element_id: str):
    """Select an element of the open diagram, so the properties panel shows it; the engine group unfolded."""
    page.evaluate("""id => { const m = window.XieshangStudio.modeler;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)
    header = page.locator(".bio-properties-panel-group-header", has_text="协商引擎")
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def test_the_engine_group_shows_and_edits_what_the_engine_reads(modeler):
    page = modeler
    page.evaluate(ROUND_TRIP, CONSULTATION.joinpath("consultation.bpmn").read_text(encoding="utf-8"))
    select(page, "notify_declined")
    operator = page.locator("select[name='xs-operator']")
    assert operator.input_value() == "notify"
    assert "发送通知 (notify)" in operator.locator("option").all_inner_texts()
    assert page.locator("input[name='xs-param-kind']").input_value() == "'declined'"
    to = page.locator("input[name='xs-param-to']")
    assert to.input_value() == "'proposer'"
    to.fill("'proposer', 'supervisor'")
    to.press("Tab")
    page.wait_for_function("""() => window.XieshangStudio.xml().then(x => x.includes("'proposer', 'supervisor'"))""")

    select(page, "follow_up_wait")
    assert page.locator("select[name='xs-timer-kind']").input_value() == "timeDuration"
    assert page.locator("input[name='xs-timer-expression']").input_value() == "follow_up_after"

    select(page, "lane_office")
    role = page.locator("select[name='xs-lane-role']")
    assert role.input_value() == "office"
    assert "政协办公室 (office)" in role.locator("option").all_inner_texts()

    select(page, "route")
    decision = page.locator("select[name='xs-decision']")
    assert decision.input_value() == "routing"
    decision.select_option("follow_up")
    saved = page.evaluate("window.XieshangStudio.xml()")
    assert "<spiffworkflow:calledDecisionId>follow_up</spiffworkflow:calledDecisionId>" in saved

    select(page, "triage")
    assert page.locator("select[name='xs-formJsonSchemaFilename']").input_value() == "forms/triage.schema.json"
    assert page.locator("input[name='xs-prop-orgUnit']").input_value() == '"county"'
    assert page.locator("textarea[name='xs-instructions']").input_value().startswith("## 受理分流")
