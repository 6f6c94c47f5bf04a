"""Tests for the deterministic Gong County demo data."""

from collections import Counter

import pytest

from domain.consultation import demo_data

UNITS = demo_data.org_units()
USERS = demo_data.users()
CODES = {unit.code: unit for unit in UNITS}
BY_ORG = demo_data.memberships_by_org(USERS)


def _codes_of(kind: str) -> list[str]:
    """Codes of the demo org units of one kind."""
    return [unit.code for unit in UNITS if unit.kind == kind]


def _roles_at(code: str) -> Counter:
    """How many accounts hold each role at one org unit."""
    return Counter(role for role, _ in BY_ORG.get(code, []))


def test_org_unit_counts_match_the_article():
    """13 townships, 177 halls, 5 committees, 8 sectors and 33 departments (15 county departments, 13 township
    governments, 5 public-service bodies) under one county."""
    counts = Counter(unit.kind for unit in UNITS)
    assert counts == {
        "county": 1, "committee": 5, "sector": 8, "township": 13, "village": 177, "hall": 190,
        "department": 33,
    }
    assert CODES["county"].name == "珙县政协"
    assert CODES["township_xunchang"].name == "巡场镇"
    assert CODES["dept_housing"].name == "县住房和城乡建设局"
    assert CODES["gov_xunchang"].name == "巡场镇人民政府" and CODES["gov_luodu"].name == "罗渡苗族乡人民政府"
    assert CODES["svc_power_xunchang"].name == "国网珙县供电公司巡场供电所"
    assert [role for role, _ in BY_ORG["gov_xunchang"]] == ["department", "department"]   # two liaisons each


def test_codes_are_unique_and_parents_precede_children():
    """Every code is unique and every parent exists earlier in the list."""
    assert len(CODES) == len(UNITS)
    seen = set()
    for unit in UNITS:
        assert unit.parent is None or unit.parent in seen, unit.code
        seen.add(unit.code)


def test_parents_and_tiers_follow_the_kinds():
    """Villages hang under townships; everything else hangs under the county."""
    expected_tier = {"county": "county", "committee": "committee", "sector": "committee",
                     "township": "township", "village": "township", "hall": "township", "department": None}
    for unit in UNITS:
        assert unit.tier == expected_tier[unit.kind], unit.code
        if unit.kind == "village":
            assert CODES[unit.parent].kind == "township"
        elif unit.kind == "hall":
            assert CODES[unit.parent].kind in ("township", "village")
        elif unit.kind != "county":
            assert unit.parent == "county"


def test_village_names_are_plausible_and_unique_within_each_township():
    """Villages end in 村 or 社区, are coded <township>_vNN and the county seat has the most."""
    per_township = Counter(CODES[code].parent for code in _codes_of("village"))
    for township in _codes_of("township"):
        villages = [u for u in UNITS if u.parent == township and u.kind == "village"]
        assert len({u.name for u in villages}) == len(villages)
        assert [u.code for u in villages] == [f"{township}_v{i:02d}" for i in range(1, len(villages) + 1)]
        assert all(u.name.endswith(("村", "社区")) for u in villages)
    assert per_township.most_common(1)[0][0] == "township_xunchang"
    assert "清溪社区" in {u.name for u in UNITS if u.parent == "township_xunchang"}


def test_member_counts_by_kind():
    """229 members: 16 municipal, 199 county, 14 advisors, named m001…m229."""
    members = [u for u in USERS if u.member_kind is not None]
    assert Counter(u.member_kind for u in members) == {"municipal": 16, "county": 199, "advisor": 14}
    assert [u.username for u in members] == [f"m{i:03d}" for i in range(1, 230)]


def test_each_member_belongs_to_one_township_one_sector_and_one_committee():
    """Members hold the member role in exactly one township, one sector group and one special committee."""
    for user in USERS:
        if user.member_kind is None:
            continue
        kinds = sorted(CODES[code].kind for role, code in user.memberships if role == "member")
        assert kinds == ["committee", "sector", "township"], user.username


def test_usernames_and_display_names_are_unique():
    """No two accounts share a username or a Chinese display name."""
    assert len({u.username for u in USERS}) == len(USERS)
    assert len({u.display_name for u in USERS}) == len(USERS)
    assert all(2 <= len(u.display_name) <= 3 for u in USERS)


def test_memberships_point_to_known_roles_and_units():
    """Every membership names a catalogue role and an existing org unit."""
    for user in USERS:
        assert user.memberships, user.username
        for role, code in user.memberships:
            assert role in demo_data.ROLES
            assert code in CODES


@pytest.mark.parametrize("username, role", [
    ("admin", "admin"), ("owner", "process_owner"), ("office", "office"), ("office2", "office"),
    ("lead_county", "platform_lead"), ("organizer_county", "organizer"), ("supervisor_county", "supervisor"),
])
def test_county_staff_accounts(username, role):
    """The county-level staff accounts exist with their roles at the county."""
    user = next(u for u in USERS if u.username == username)
    assert user.memberships == ((role, "county"),)


def test_every_platform_has_lead_organizer_and_supervisor():
    """Each county, committee, sector and township unit has all three tier roles."""
    for code in ["county", *_codes_of("committee"), *_codes_of("sector"), *_codes_of("township")]:
        roles = _roles_at(code)
        assert all(roles[role] >= 1 for role in demo_data.TIER_ROLES), code


def test_staff_usernames_follow_the_conventions():
    """Township staff use the pinyin suffix; committee and sector staff use the full code."""
    usernames = {u.username for u in USERS}
    assert {"organizer_xunchang", "lead_yuhe", "supervisor_luodu"} <= usernames
    assert {"lead_committee_economy", "organizer_sector_ethnic"} <= usernames
    assert {"liaison_housing", "liaison_housing_2"} <= usernames


def test_every_department_has_two_liaisons():
    """Each department has two accounts with the department role."""
    for code in _codes_of("department"):
        assert _roles_at(code)["department"] == 2, code


def test_every_township_sector_and_committee_has_members():
    """Members are spread over all townships, sector groups and special committees."""
    for code in _codes_of("township") + _codes_of("sector") + _codes_of("committee"):
        assert _roles_at(code)["member"] >= 1, code


def test_demo_data_is_deterministic():
    """Two calls return equal data."""
    assert demo_data.org_units() == UNITS
    assert demo_data.users() == USERS
    assert demo_data.DEMO_PASSWORD == "xieshang-demo"


def test_every_township_and_village_has_one_hall_named_after_it():
    """珙桐议事厅 in each township, 珙桐议事室 in each village or community, coded <unit>_hall."""
    halls = [u for u in UNITS if u.kind == "hall"]
    assert Counter(h.parent for h in halls) == Counter(_codes_of("township") + _codes_of("village"))
    for hall in halls:
        parent = CODES[hall.parent]
        assert hall.code == f"{parent.code}_hall"
        assert hall.name == parent.name + ("珙桐议事厅" if parent.kind == "township" else "珙桐议事室")
    assert CODES["township_xunchang_hall"].name == "巡场镇珙桐议事厅"
