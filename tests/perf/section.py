"""A part of a benchmark report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """Report lines and name=value figures of one part of the benchmark."""

    title: str
    lines: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def add(self, line: str = "") -> None:
        self.lines.append(line)
