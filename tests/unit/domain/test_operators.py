"""The operator catalogue the studio offers (domain/operators.py) covers what the engine registers and every
parameter the consultation's service tasks pass, so the modeler's choices cannot drift from the diagram."""

from __future__ import annotations

from lxml import etree

from domain.operators import MEANINGS, catalogue
from engine.bpmn.operators import REGISTRY
from engine.store.versions import OPERATORS
from tests.conftest import CONSULTATION

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"


def test_every_registered_operator_is_described_with_its_parameters():
    ops = catalogue(OPERATORS)
    assert [op.name for op in ops] == sorted(OPERATORS)
    assert all(op.label != op.name and op.parameters for op in ops)
    assert all(p.description for op in ops for p in op.parameters)
    assert set(MEANINGS) == {(op.name, p.name) for op in REGISTRY.values() for p in op.parameters}   # none unworded


def test_every_parameter_the_consultation_passes_is_in_the_catalogue():
    known = {op.name: {p.name for p in op.parameters} for op in catalogue(OPERATORS)}
    root = etree.parse(str(CONSULTATION / "consultation.bpmn")).getroot()
    used = {(node.get("id"), param.get("id")) for node in root.iter(f"{SPIFF}serviceTaskOperator")
            for param in node.iter(f"{SPIFF}parameter")}
    assert len(used) >= 6
    assert {(op, name) for op, name in used if name not in known.get(op, set())} == set()


def test_an_operator_registered_without_a_description_is_still_offered():
    [op] = catalogue({"archive"})       # registered by a deployment, unknown to the registry
    assert (op.name, op.label, op.parameters) == ("archive", "archive", ())
