"""The deploy/ folder describes the topology the code runs: the compose file's services and XIESHANG_* names are the
ones Settings and the entrypoint read, exactly one beat, shared volumes; the systemd units parse."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from engine.settings import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
ROLES = ("init", "web", "worker", "beat")
NEEDED = {"XIESHANG_DATABASE_URL", "XIESHANG_REDIS_URL", "XIESHANG_SECRET_KEY", "XIESHANG_INSTANCE_PATH"}


class RecordingEnv(dict):
    """An environment that remembers every variable asked for by name."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def read_by_the_code() -> set[str]:
    """XIESHANG_* names the web app and commands read from the environment themselves (outside Settings)."""
    names = set()
    for package in ("webui", "cli", "tasks", "domain", "engine"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"[\"'](XIESHANG_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    return names


def settings_names() -> set[str]:
    """Every variable Settings.from_env reads (recorded, not listed by hand)."""
    env = RecordingEnv()
    Settings.from_env(env)
    return {name for name in env.asked if name.startswith("XIESHANG_")}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def env_names(service: dict) -> set[str]:
    environment = service.get("environment") or {}
    return set(environment) if isinstance(environment, dict) else {item.split("=", 1)[0] for item in environment}


def test_the_compose_file_runs_every_role_on_postgres_and_redis_with_one_beat(compose):
    services = compose["services"]
    assert {"postgres", "redis", *ROLES} <= set(services)
    assert services["beat"]["deploy"]["replicas"] == 1
    for role in ROLES:
        assert services[role]["command"] == [role]
        assert services[role]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert any(volume.endswith(":/var/lib/xieshang") for volume in services[role]["volumes"])
    for role in ("web", "worker", "beat"):
        assert services[role]["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert services["init"]["restart"] == "no"
    assert {"database", "files"} <= set(compose["volumes"])
    assert any(volume.startswith("database:") for volume in services["postgres"]["volumes"])


def test_every_xieshang_variable_in_the_compose_file_is_read_by_settings_or_the_entrypoint(compose):
    read_by_settings = settings_names()
    assert read_by_settings >= NEEDED          # the recorder sees what Settings reads
    entrypoint = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")
    for role in ROLES:
        names = {name for name in env_names(compose["services"][role]) if name.startswith("XIESHANG_")}
        assert names >= NEEDED, f"{role} lacks {NEEDED - names}"
        unknown = {name for name in names - read_by_settings - read_by_the_code() if f"${{{name}" not in entrypoint}
        assert not unknown, f"{role} sets variables nothing reads: {unknown}"


def test_the_compose_environment_builds_the_settings_it_names(compose):
    values = {name: re.sub(r"\$\{[^}]*\}", "x", str(value))
              for name, value in compose["services"]["web"]["environment"].items()}
    settings = Settings.from_env(values)
    assert settings.database_url.startswith("postgresql+psycopg://xieshang:x@postgres:5432/")
    assert settings.redis_url == "redis://redis:6379/0" and not settings.embedded
    assert settings.secret_key == "x"
    assert str(settings.processes_path) == "/app/processes"


def test_the_image_installs_the_package_and_runs_as_a_user_of_its_own():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, re.M)
    assert "fonts-noto-cjk" in dockerfile and "pip install '.[postgres]'" in dockerfile
    assert re.search(r"^USER xieshang$", dockerfile, re.M)
    entrypoint = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")
    for role in ROLES:
        assert re.search(rf"^\s*{role}\)$", entrypoint, re.M), role
    assert 'exec xieshang serve --bind' in entrypoint       # gunicorn through serve: its checks and worker class
    assert subprocess.run(["sh", "-n", str(DEPLOY / "entrypoint.sh")]).returncode == 0


def test_the_systemd_env_example_names_only_variables_something_reads():
    example = (DEPLOY / "systemd" / "xieshang.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^(XIESHANG_\w+)=", example, re.M))
    units = "".join(path.read_text(encoding="utf-8") for path in (DEPLOY / "systemd").glob("*.service"))
    assert names >= NEEDED
    assert not {name for name in names - settings_names() if f"${{{name}}}" not in units}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_parse(tmp_path):
    for path in (DEPLOY / "systemd").glob("*.service"):
        shutil.copy(path, tmp_path / path.name.replace("@.service", "@1.service"))
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    assert len(units) == 4
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    # the installed program is the one thing this machine lacks; anything else (a bad key, a bad section) fails
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable: No such file or directory" not in line]
    assert problems == []
