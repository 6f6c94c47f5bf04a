"""The service-task operators the engine registers, with the parameters each reads (for lint and the modeler)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    """One parameter of an operator: its name, whether a diagram must give it, and what it means (zh-CN (en))."""

    name: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operator:
    """A service-task operator: what it does and the parameters it reads."""

    name: str
    description: str
    parameters: tuple[Parameter, ...]

    def parameter_names(self) -> tuple[str, ...]:
        """Every parameter this operator reads, in order."""
        return tuple(p.name for p in self.parameters)



REGISTRY: Mapping[str, Operator] = {
    "notify": Operator("notify", "发送通知 (send a notification)", (
        Parameter("kind", True, "通知类别，如 'reminder'、'escalation'、'result' (kind of notice)"),
        Parameter("to", False, "收件人，如 'assignee' 或某一角色 (who receives it, e.g. 'assignee' or a role)"),
        Parameter("message", False, "正文；不填则按类别使用默认正文 (body text; default by kind)"),
        Parameter("level", False, "升级级别 0–2 (escalation level 0–2)"),
        Parameter("step", False, "所涉步骤编号 (the step it is about)"),
        Parameter("task_id", False, "所涉任务 (the task it is about)"),
        Parameter("channels", False, "只用这些渠道，如 ['sms'] (only these channels)"),
    )),
    "publish": Operator("publish", "公开办理成果 (publish the outcome)", (
        Parameter("summary", True, "公开的成果标题或摘要 (title or summary made public)"),
    )),
}


def operator_parameters(registry: Mapping[str, Operator] = REGISTRY) -> dict[str, tuple[str, ...]]:
    """operator name → the parameter names it reads: the `operators` argument of `lint`."""
    return {name: op.parameter_names() for name, op in registry.items()}


def required_parameters(registry: Mapping[str, Operator] = REGISTRY) -> dict[str, frozenset[str]]:
    """operator name → the parameters a diagram must give it."""
    return {name: frozenset(p.name for p in op.parameters if p.required) for name, op in registry.items()}
