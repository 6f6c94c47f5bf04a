"""The demo's annual plans for the year of `now`: the county CPPCC's (approved), 巡场镇's (approved), 珙泉镇's
(returned with the office's reason) and 孝儿镇's (a draft); approved items are linked to the demo consultations on
the same topics. Written through the plan commands (checked, audited) in well under a second."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from domain.consultation.models import Consultation
from domain.plans.models import ConsultationPlan
from domain.plans.service import ItemInput
from domain.plans.start import person
from engine.clock import LOCAL_TZ

# unit → (organizer, status, [(title, description, hall, lead, month, the demo consultation's title or None)])
PLANS = {
    "county": ("organizer_county", "approved", [
        ("老旧小区改造提速", "县政协年度工作要点：城市更新与民生改善", "", "m003", 3, "县城老旧小区改造进度慢"),
        ("农村养老服务体系建设", "县政协年度工作要点：积极应对人口老龄化", "", "m005", 5, "农村留守老人照护缺口"),
        ("义务教育学位供给", "县政协年度工作要点：办好人民满意的教育", "", "m007", 8, "县城学位紧张"),
        ("县域营商环境优化", "县政协年度工作要点：民营经济发展", "", "m009", 10, None)]),
    "township_xunchang": ("organizer_xunchang", "approved", [
        ("老街夜间照明与出行安全", "群众反映老街路灯少、夜间出行不便", "township_xunchang_hall", "m001", 4,
         "老街夜间照明不足"),
        ("背街小巷路面修复", "背街小巷路面破损、雨天积水", "township_xunchang_hall", "m014", 9,
         "巡场镇背街小巷路面破损"),
        ("社区养老食堂建设", "探索社区老年助餐服务", "township_xunchang_hall", "", 11, None)]),
    "township_gongquan": ("organizer_gongquan", "returned", [
        ("农贸市场周边秩序整治", "", "township_gongquan_hall", "", 6, None),
        ("老旧小区加装电梯", "", "township_gongquan_hall", "", 9, None)]),
    "township_xiaoer": ("organizer_xiaoer", "draft", [
        ("便民服务提质增效", "便民服务中心办事排长队", "township_xiaoer_hall", "", 7, None)]),
}
RETURN_REASON = "请为每个议题明确牵头委员，并补充议题说明后重新报送。"


def load_plans(services, now: datetime) -> int:
    """Write the demo plans for the year of `now`, each unless its unit has a plan for that year already (run before
    the halls' demo, which gives every other township an approved plan naming its halls); returns plans written."""
    year = now.astimezone(LOCAL_TZ).year
    engine = services.engine
    with engine.reading() as session:
        planned = set(session.scalars(select(ConsultationPlan.org_unit_code).where(ConsultationPlan.year == year)))
        office = person(session, "office")
        people = {unit: person(session, spec[0]) for unit, spec in PLANS.items()}
        consultations = dict(session.execute(select(Consultation.title, Consultation.instance_id)).all())
    written = [unit for unit in PLANS if unit not in planned]
    for unit in written:
        _organizer, status, items = PLANS[unit]
        plan_id = services.plans.open_plan(people[unit], year, unit)
        linked = []
        for title, description, hall, lead, month, case in items:
            item_id = services.plans.add_item(people[unit], plan_id,
                                              ItemInput(title, description, "", hall, lead, str(month)))
            if case in consultations:
                linked.append((consultations[case], item_id))
        if status == "draft":
            continue
        services.plans.submit(people[unit], plan_id)
        if status == "returned":
            services.plans.return_plan(office, plan_id, RETURN_REASON)
            continue
        services.plans.approve(office, plan_id)
        for instance_id, item_id in linked:
            services.plans.link(office, instance_id, item_id)
    return len(written)
