"""Workflow state to JSON and back, without the embedded spec (kept once per version, parsed once)."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn.bounds import with_bounded
from engine.errors import InvalidState

_local = threading.local()

STATE_FORMAT = 1


class StateConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, but leaves the spec out and restores against a parsed spec."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value):
    return UUID(value)


def _registry():
    config = with_bounded(SPIFF_CONFIG)
    config[BpmnWorkflow] = StateConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda d: {"value": d.isoformat()}, lambda d: date.fromisoformat(d["value"]),
                      typename="date")
    registry.register(Decimal, lambda d: {"value": str(d)}, lambda d: Decimal(d["value"]), typename="Decimal")
    return registry


class StateSerializer:
    """Serializes instance state; the document carries its format and SpiffWorkflow's version.

    Not thread-safe (the registry has an encoder mode); use `state_serializer()` for a per-thread one.
    """

    def __init__(self):
        self.registry = _registry()
        self.spiff = BpmnWorkflowSerializer(self.registry)

    def dumps(self, workflow: BpmnWorkflow) -> str:
        """State of `workflow` as compact JSON."""
        self.registry._encoder_mode = True  # as SpiffWorkflow's serialize_json: deltas convert while encoding
        try:
            dct = self.registry.convert(workflow)
            dct["format"] = STATE_FORMAT
            dct[self.spiff.VERSION_KEY] = self.spiff.VERSION
            return json.dumps(dct, cls=self.spiff._encoder_cls, separators=(",", ":"))
        finally:
            self.registry._encoder_mode = False

    def loads(self, text: str, spec, subprocess_specs: dict) -> BpmnWorkflow:
        """Restore a workflow against its version's parsed spec, migrating older SpiffWorkflow formats."""
        dct = json.loads(text)
        if dct.pop("format", None) != STATE_FORMAT:
            raise InvalidState("stored state has an unknown format")
        if dct.get(self.spiff.VERSION_KEY) != self.spiff.VERSION:
            dct = self._migrate(dct, spec, subprocess_specs)
        dct.pop(self.spiff.VERSION_KEY, None)
        return self.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)

    def _migrate(self, dct, spec, subprocess_specs):
        """SpiffWorkflow's migrations need the spec inside the document: put it in, migrate, take it out."""
        dct["spec"] = self.registry.convert(spec)
        dct["subprocess_specs"] = {k: self.registry.convert(v) for k, v in subprocess_specs.items()}
        self.spiff.migrate(dct)
        dct.pop("spec")
        dct.pop("subprocess_specs")
        return dct


    def dumps_data(self, data: dict) -> str:
        """An instance's data alone as JSON (dates, decimals and SpiffWorkflow's own types converted as in a state)."""
        return json.dumps(self.registry.convert(data), cls=self.spiff._encoder_cls, separators=(",", ":"))

    def loads_data(self, text: str) -> dict:
        """Data written by `dumps_data`."""
        return self.registry.restore(json.loads(text))


def state_serializer() -> StateSerializer:
    """This thread's serializer."""
    if not hasattr(_local, "serializer"):
        _local.serializer = StateSerializer()
    return _local.serializer
