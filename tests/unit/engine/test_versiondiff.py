"""The diff between two versions of a process: elements by id with what changed, and files by path."""

from __future__ import annotations

from engine.bpmn.specs import Bundle, load_bundle
from engine.bpmn.versiondiff import diff_bundles
from tests.conftest import CONSULTATION, DATA

MINI = load_bundle([DATA / "mini"])


def _edited(bundle: Bundle, path: str, *edits: tuple[str, str], **files: bytes) -> Bundle:
    text = bundle.files[path].decode()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return Bundle(bundle.files | {path: text.encode()} | {k.replace("__", "/"): v for k, v in files.items()})


def _changes(diff) -> dict[str, tuple[str, ...]]:
    return {c.new.id: c.aspects for c in diff.changed}


def test_the_same_bundle_has_no_difference():
    assert diff_bundles(MINI, MINI).empty


def test_an_inserted_task_is_added_and_its_neighbours_change_their_flows():
    new = _edited(MINI, "mini.bpmn",
                  ('<bpmn:sequenceFlow id="f5" sourceRef="confirm" targetRef="end_ok" />',
                   '<bpmn:sequenceFlow id="f5" sourceRef="confirm" targetRef="archive" />'
                   '<bpmn:sequenceFlow id="f6" sourceRef="archive" targetRef="end_ok" />'),
                  ('<bpmn:endEvent id="end_ok" name="完成"><bpmn:incoming>f5</bpmn:incoming>',
                   '<bpmn:userTask id="archive" name="归档"/><bpmn:endEvent id="end_ok" name="完成">'
                   '<bpmn:incoming>f6</bpmn:incoming>'))
    diff = diff_bundles(MINI, new)
    added = [(e.id, e.tag, e.name) for e in diff.added]
    assert added == [("archive", "userTask", "归档"), ("f6", "sequenceFlow", None)]
    assert diff.removed == ()
    assert _changes(diff) == {"end_ok": ("incoming",), "f5": ("attributes",)}
    assert diff.files_changed == ("mini.bpmn",) and not diff.files_added and not diff.files_removed


def test_name_type_extensions_and_definitions_are_told_apart():
    new = _edited(MINI, "mini.bpmn",
                  ('<bpmn:userTask id="review" name="审核">', '<bpmn:manualTask id="review" name="初审">'),
                  ('</bpmn:userTask>\n    <bpmn:exclusiveGateway', '</bpmn:manualTask>\n    <bpmn:exclusiveGateway'),
                  ('请审核 **{{ title }}**', '请认真审核 **{{ title }}**'),
                  ('<bpmn:timeDuration>"P2D"</bpmn:timeDuration>', '<bpmn:timeDuration>"P3D"</bpmn:timeDuration>'))
    changes = _changes(diff_bundles(MINI, new))
    assert changes == {"review": ("type", "name", "extensions"), "wait": ("definition",)}


def test_a_changed_form_file_changes_the_task_that_uses_it():
    form = MINI.files["forms/review.schema.json"].replace(b'"maxLength": 200', b'"maxLength": 300')
    new = Bundle(MINI.files | {"forms/review.schema.json": form, "forms/extra.schema.json": b"{}"})
    diff = diff_bundles(MINI, new)
    assert _changes(diff) == {"review": ("form",)}
    assert (diff.files_added, diff.files_changed) == (("forms/extra.schema.json",), ("forms/review.schema.json",))


def test_a_changed_decision_table_changes_the_task_that_calls_it():
    bundle = load_bundle([CONSULTATION])
    [path] = [p for p in bundle.paths(".dmn") if p.endswith("routing.dmn")]
    text = bundle.files[path].decode()
    new = Bundle(bundle.files | {path: text.replace("</dmn:definitions>", "<!-- v2 --></dmn:definitions>")
                                 .replace("</definitions>", "<!-- v2 --></definitions>").encode()})
    diff = diff_bundles(bundle, new)
    assert diff.files_changed == (path,)
    assert diff.changed and all(c.aspects == ("table",) for c in diff.changed)


def test_a_removed_element_is_listed_with_its_file():
    new = _edited(MINI, "mini.bpmn", ('<bpmn:endEvent id="end_no" name="未通过"><bpmn:incoming>f_no</bpmn:incoming>'
                                      '</bpmn:endEvent>', ""))
    diff = diff_bundles(MINI, new)
    assert [(e.id, e.file) for e in diff.removed] == [("end_no", "mini.bpmn")]
