"""Evidence files on Services, on SQLite and PostgreSQL: stored only for those who may act, all or nothing within the
quota, references checked per person and task, downloads by policy, and the sweep's cleanup."""

from __future__ import annotations

import copy
import io

import pytest

from domain.consultation.demo import load_demo
from domain.people.accounts import UserView
from domain.people.policy import may_download
from domain.work.uploads import NewFile, QuotaExceeded, new_id
from engine.errors import NotFound, PermissionDenied
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_casefile import advance_to, started

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def research(services, tmp_path):
    """Services with the demo county, files kept in a temporary folder, and a consultation at its research step."""
    services.uploads.folder = tmp_path / "uploads"
    with services.engine.unit_of_work() as session:
        load_demo(session, services.engine.clock.now())
    services.engine.deploy([CONSULTATION], actor="owner")
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(services.engine, scenario)
    advance_to(services.engine, instance_id, scenario, "research")
    tasks = {t.candidates[0]: t for t in services.engine.list_tasks(instance_id=instance_id)
             if t.task_spec == "research"}
    return instance_id, tasks


def a_file(name: str = "照片.pdf", content: bytes = PDF) -> NewFile:
    return NewFile(new_id(), name, io.BytesIO(content))


def user(services, username: str) -> UserView:
    return services.accounts.user(username)


def test_files_are_stored_by_id_for_those_who_may_act_and_checked_per_person_and_task(services, research):
    instance_id, tasks = research
    m001, m014 = user(services, "m001"), user(services, "m014")
    (stored,) = services.uploads.store(m001, tasks["m001"].id, [a_file("../../evil/照片.pdf")])
    assert stored.filename == "照片.pdf" and stored.size == len(PDF) and stored.instance_id == instance_id
    assert (services.uploads.root() / stored.id).read_bytes() == PDF
    assert services.uploads.foreign(m001, tasks["m001"].id, [stored.id]) == set()
    assert services.uploads.foreign(m014, tasks["m014"].id, [stored.id]) == {stored.id}        # another person's
    assert services.uploads.foreign(m001, tasks["m014"].id, [stored.id]) == {stored.id}        # another task
    assert services.uploads.foreign(m001, tasks["m001"].id, ["../../../../etc/passwd"]) == {"../../../../etc/passwd"}
    with pytest.raises(PermissionDenied):
        services.uploads.store(user(services, "office"), tasks["m001"].id, [a_file()])
    assert sorted(p.name for p in services.uploads.root().iterdir()) == [stored.id]


def test_the_quota_stores_all_or_nothing(services, research):
    _, tasks = research
    services.uploads.quota = len(PDF) * 2
    m001 = user(services, "m001")
    with pytest.raises(QuotaExceeded):
        services.uploads.store(m001, tasks["m001"].id, [a_file(), a_file(), a_file()])
    assert not services.uploads.root().exists() or list(services.uploads.root().iterdir()) == []
    assert len(services.uploads.store(m001, tasks["m001"].id, [a_file(), a_file()])) == 2


def test_downloads_follow_the_policy_and_the_sweep_keeps_only_attached_files(services, research, clock):
    instance_id, tasks = research
    m001, m014 = user(services, "m001"), user(services, "m014")
    (kept,) = services.uploads.store(m001, tasks["m001"].id, [a_file()])
    (left,) = services.uploads.store(m014, tasks["m014"].id, [a_file()])
    with pytest.raises(PermissionDenied):                      # not attached yet: only its owner
        services.uploads.download(user(services, "office"), kept.id)
    services.uploads.attach(m001, tasks["m001"].id, instance_id, [kept.id])
    view, path = services.uploads.download(user(services, "office"), kept.id)
    assert view.attached and path.read_bytes() == PDF
    with pytest.raises(NotFound):
        services.uploads.download(m001, "0" * 32)
    clock.advance(days=8)
    services.sweep()
    assert [p.name for p in services.uploads.root().iterdir()] == [kept.id]
    with pytest.raises(NotFound):
        services.uploads.download(m014, left.id)


@pytest.mark.parametrize("username, sees, attached, allowed", [
    ("owner", False, False, True), ("other", True, True, True), ("other", True, False, False),
    ("other", False, True, False)])
def test_who_may_download(username, sees, attached, allowed):
    person = UserView(username, "某人", True, ())
    assert may_download(person, "owner", sees, attached) is allowed
