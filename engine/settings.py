"""Configuration from the environment, with an optional TOML instance file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"


@dataclass(frozen=True)
class Settings:
    """Where the database, broker, process definitions and uploads are."""

    database_url: str
    redis_url: str | None
    instance_path: Path
    processes_path: Path

    @property
    def embedded(self) -> bool:
        """True without Redis: background work runs in process."""
        return not self.redis_url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read XIESHANG_* variables; XIESHANG_CONFIG (or instance/xieshang.toml) supplies defaults."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("XIESHANG_INSTANCE_PATH", DEFAULT_INSTANCE))
        config_file = Path(env.get("XIESHANG_CONFIG", instance / "xieshang.toml"))
        file_values: dict = {}
        if config_file.is_file():
            with config_file.open("rb") as fh:
                file_values = tomllib.load(fh)

        def pick(key: str, default):
            return env.get(f"XIESHANG_{key.upper()}") or file_values.get(key) or default

        return cls(
            database_url=pick("database_url", f"sqlite:///{instance / 'xieshang.db'}"),
            redis_url=pick("redis_url", None),
            instance_path=instance,
            processes_path=Path(pick("processes_path", ROOT / "processes")),
        )
