"""The intake's rules without the web: who may raise a topic which way (domain/people/policy.py) and the village
checked against its township (domain/consultation/intake.py)."""

from __future__ import annotations

import pytest

from domain.consultation.intake import (
    VILLAGE_ELSEWHERE,
    VILLAGE_UNKNOWN,
    VILLAGE_WITHOUT_TOWNSHIP,
    village_problem,
)
from domain.people import policy

TOWNSHIPS = ("township_xunchang", "township_gongquan")
VILLAGES = {"township_xunchang": [("township_xunchang_v01", "清溪社区")],
            "township_gongquan": [("township_gongquan_v01", "珙泉社区")]}


@pytest.mark.parametrize("memberships, proposes, records, townships", [
    ({("member", "township_xunchang"), ("member", "sector_cpc")}, True, False, frozenset()),
    ({("office", "county")}, False, True, None),
    ({("organizer", "county")}, False, True, None),
    ({("organizer", "committee_social")}, False, True, None),
    ({("organizer", "township_xunchang")}, False, True, frozenset({"township_xunchang"})),
    ({("office", "township_xunchang")}, False, False, frozenset()),      # the office is the county's
    ({("platform_lead", "township_xunchang"), ("supervisor", "county")}, False, False, frozenset()),
    (set(), False, False, frozenset()),
])
def test_who_raises_a_topic_which_way(memberships, proposes, records, townships):
    assert policy.may_propose_topic(memberships) is proposes
    assert policy.may_record_for_residents(memberships) is records
    assert policy.recording_townships(memberships, TOWNSHIPS) == townships


@pytest.mark.parametrize("data, problem", [
    ({}, None),
    ({"township": "township_xunchang", "village": ""}, None),
    ({"township": "township_xunchang", "village": "township_xunchang_v01"}, None),
    ({"township": "township_xunchang", "village": "township_gongquan_v01"}, VILLAGE_ELSEWHERE),
    ({"village": "township_xunchang_v01"}, VILLAGE_WITHOUT_TOWNSHIP),
    ({"township": "township_xunchang", "village": "老街社区"}, VILLAGE_UNKNOWN),
    ({"township": "township_xunchang", "village": "township_xunchang"}, VILLAGE_UNKNOWN),
])
def test_a_village_stands_only_in_its_own_township(data, problem):
    assert village_problem(VILLAGES, data) == problem
