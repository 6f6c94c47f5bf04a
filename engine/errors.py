"""The engine's one error hierarchy; webui maps these types to HTTP statuses and messages."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    """An id that names nothing (process, version, instance, task, user, org unit)."""


class PermissionDenied(EngineError):
    """The acting user may not do this."""


class InvalidState(EngineError):
    """The object exists but cannot take this command now (e.g. a completed task)."""


class ConcurrentUpdate(EngineError):
    """Someone else changed the instance first; reload and try again."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a process bundle, printed as `file:line element-id: message`.

    `severity` is "error" (the bundle must not deploy, or will not run as drawn) or "warning" (lint advice)."""

    file: str
    line: int | None
    element_id: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.element_id or '-'}: {self.message}"


class SpecInvalid(EngineError):
    """A process bundle was refused; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ValidationFailed(EngineError):
    """Submitted data does not satisfy the form; `field_errors` maps a field path to its messages."""

    def __init__(self, field_errors: dict[str, list[str]]):
        self.field_errors = field_errors
        lines = [f"{field}: {'; '.join(msgs)}" for field, msgs in sorted(field_errors.items())]
        super().__init__("表单数据无效 (invalid data)\n" + "\n".join(lines))


class ScriptError(EngineError):
    """A script or expression in a diagram failed or was refused by the sandbox."""

    def __init__(self, element_id: str | None, detail: str):
        self.element_id = element_id
        self.detail = detail
        super().__init__(f"{element_id or '-'}: {detail}")


class HookFailed(EngineError):
    """A process hook (our own code, not the diagram) failed; `__cause__` keeps why, and it is logged."""

    MESSAGE = "系统内部出错，已通知管理员，请稍后再试 (an internal error occurred and the administrators were told; " \
              "please try again later)"

    def __init__(self, process_id: str, hook: str):
        self.process_id = process_id
        self.hook = hook
        super().__init__(self.MESSAGE)

    def __str__(self) -> str:
        return f"{self.process_id}.{self.hook} hook failed: {self.__cause__!r}" if self.__cause__ else self.message
