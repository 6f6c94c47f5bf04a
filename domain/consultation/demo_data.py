"""Demo org units and accounts for Gong County (珙县): pure, deterministic data with no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass

DEMO_PASSWORD = "xieshang-demo"

ROLES = (
    "admin", "process_owner", "supervisor", "office", "platform_lead", "organizer", "member", "department",
)
TIER_ROLES = ("platform_lead", "organizer", "supervisor")
MEMBER_COUNTS = (("municipal", 16), ("county", 199), ("advisor", 14))

COUNTY_CODE = "county"
COUNTY_NAME = "珙县政协"

_COMMITTEES = (
    "committee_proposals:提案委员会 committee_economy:经济委员会 committee_agriculture:农业农村委员会 "
    "committee_social:社会和法制委员会 committee_culture:文化文史和学习委员会"
)
_SECTORS = (
    "sector_cpc:中共界别小组 sector_nonparty:无党派人士界别小组 sector_economy:经济界别小组 "
    "sector_education:教育界别小组 sector_health:医药卫生界别小组 sector_agriculture:农业界别小组 "
    "sector_social:社会福利和社会保障界别小组 sector_ethnic:少数民族界别小组"
)
_DEPARTMENTS = (
    "dept_drc:县发展和改革局 dept_housing:县住房和城乡建设局 dept_transport:县交通运输局 "
    "dept_education:县教育和体育局 dept_health:县卫生健康局 dept_agriculture:县农业农村局 "
    "dept_civil:县民政局 dept_ecology:县生态环境局 dept_market:县市场监督管理局 dept_water:县水务局 "
    "dept_culture:县文化广播电视和旅游局 dept_resources:县自然资源和规划局 "
    "dept_hr:县人力资源和社会保障局 dept_emergency:县应急管理局 dept_economy:县经济商务和信息化局"
)

# Public-service bodies that answer suggestions like any department (供电、供水、燃气、通信).
_SERVICE_BODIES = (
    "svc_power:国网珙县供电公司 svc_power_xunchang:国网珙县供电公司巡场供电所 svc_water:珙县自来水公司 "
    "svc_gas:珙县燃气公司 svc_telecom:中国电信珙县分公司"
)

# (pinyin, name, number of villages and communities, community name stems); the county seat has the most.
_TOWNSHIPS = (
    ("xunchang", "巡场镇", 26, "清溪 金河 芙蓉 桐林 滨河 巡场 新街 东环"),
    ("gongquan", "珙泉镇", 14, "珙泉 龙泉"),
    ("xiaoer", "孝儿镇", 13, "孝儿"),
    ("didong", "底洞镇", 14, "底洞"),
    ("shangluo", "上罗镇", 15, "上罗"),
    ("luobiao", "洛表镇", 16, "洛表"),
    ("luohai", "洛亥镇", 12, "洛亥"),
    ("wangjia", "王家镇", 14, "王家"),
    ("mutan", "沐滩镇", 12, "沐滩"),
    ("caoying", "曹营镇", 12, "曹营"),
    ("luodu", "罗渡苗族乡", 10, "罗渡"),
    ("guandou", "观斗苗族乡", 9, "观斗"),
    ("yuhe", "玉和苗族乡", 10, "玉和"),
)

# Village name stems, handed out in order so every village name is unique county-wide.
_VILLAGE_STEMS = (
    "青山 红岩 石桥 高峰 柏林 竹园 龙潭 凤凰 金竹 银杏 桂花 茶园 杨柳 双河 三合 四方 五星 六合 七里 八角 "
    "九龙 十字 大坪 小河 中和 新华 新民 新农 新建 新光 光明 红旗 和平 团结 胜利 太平 长兴 永安 永兴 永和 "
    "兴隆 兴旺 丰收 丰乐 富民 幸福 民主 向阳 朝阳 东升 东山 西山 南山 北岭 黄桷 白果 白岩 黑石 黄泥 青龙 "
    "玉泉 清泉 甘泉 梨树 桃园 杏林 松林 枫香 楠木 香樟 水口 山口 河口 沙坝 田坝 石坝 平桥 瓦窑 仙峰 罗汉 "
    "观音 天池 天星 月亮 星光 云台 云山 雪山 桐梓 珙桐 铜鼓 石门 龙门 狮子 马鞍 鹰嘴 凤鸣 鹤鸣 龙塘 荷花 "
    "莲花 梅花 兰花 花园 果园 桑园 竹林 竹海 杉木 斑竹 大石 岩门 中坝 上坝 下坝 前锋 红星 红光 建设 育才 "
    "文昌 武胜 仁和 义和 德胜 福星 寿山 安乐 乐丰 安宁 平安 顺河 回龙 卧龙 盘龙 飞龙 金星 银河 金沙 岩湾 "
    "河湾 柳湾 沙湾 杨湾 大湾 石湾 张坝 王沟 李沟 陈塆 苗寨 新田 老街 长岭 槐树 芭蕉 青杠 麻柳 核桃 板栗"
)

_SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任卢"
    "姚沈钟姜崔谭陆范汪廖石韦贾夏付方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵万武钱戴严莫孔向汤康易赖文"
)
_GIVEN = (
    "国建明华文军平志伟红英芳玉秀丽霞强勇杰涛斌林云海东波辉敏静燕洪春梅兰琴亮刚成荣德贵福祥永兴光庆学宏利"
    "俊峰鹏婷娟雪琳晓立新长家思佳雨欣宇浩晨泽凯颖媛蓉川桐松柏远清正安和顺富民忠诚礼智"
)


@dataclass(frozen=True)
class OrgUnitSeed:
    """One demo org unit; `parent` is a code and `tier` the platform tier it hosts (None for departments)."""

    code: str
    name: str
    kind: str
    parent: str | None
    tier: str | None


@dataclass(frozen=True)
class UserSeed:
    """One demo account with its (role, org_unit_code) memberships."""

    username: str
    display_name: str
    memberships: tuple[tuple[str, str], ...]
    member_kind: str | None = None


def _pairs(catalogue: str) -> list[tuple[str, str]]:
    """Split a "code:名称 code:名称" catalogue string into (code, name) pairs."""
    return [tuple(item.split(":")) for item in catalogue.split()]


def committee_codes() -> list[str]:
    """Codes of the five special committees."""
    return [code for code, _ in _pairs(_COMMITTEES)]


def sector_codes() -> list[str]:
    """Codes of the eight sector groups (界别小组)."""
    return [code for code, _ in _pairs(_SECTORS)]


def township_codes() -> list[str]:
    """Codes of the thirteen townships."""
    return [f"township_{pinyin}" for pinyin, *_ in _TOWNSHIPS]


def township_places(pinyin: str) -> str:
    """Where a township's researchers go: two of its villages (communities), named as people there say them."""
    name, communities = next((name, places.split()) for code, name, _, places in _TOWNSHIPS if code == pinyin)
    return "、".join(f"{name}{place}村" for place in communities[:2])


def department_codes() -> list[str]:
    """Codes of every department (承办单位): the fifteen county departments, the thirteen township governments and
    the public-service bodies, in that order."""
    return [code for code, _ in _departments()]


def _departments() -> list[tuple[str, str]]:
    """(code, name) of every unit that answers suggestions: county departments, township governments (a township's
    people's government answers for the township, apart from its consultation platform) and public-service bodies."""
    governments = [(f"gov_{pinyin}", f"{name}人民政府") for pinyin, name, *_ in _TOWNSHIPS]
    return _pairs(_DEPARTMENTS) + governments + _pairs(_SERVICE_BODIES)


def _villages() -> list[OrgUnitSeed]:
    """Villages and communities (珙桐议事厅 hosts) of every township, communities first."""
    stems = iter(_VILLAGE_STEMS.split())
    units = []
    for pinyin, _, count, communities in _TOWNSHIPS:
        township = f"township_{pinyin}"
        names = [f"{stem}社区" for stem in communities.split()]
        names += [f"{next(stems)}村" for _ in range(count - len(names))]
        units += [
            OrgUnitSeed(f"{township}_v{index:02d}", name, "village", township, "township")
            for index, name in enumerate(names, start=1)
        ]
    return units


def _halls(villages: list[OrgUnitSeed]) -> list[OrgUnitSeed]:
    """珙桐议事厅 (one per township) and 珙桐议事室 (one per village or community), each under its own unit: the
    places a plan's meeting is held; coded <unit>_hall."""
    townships = [OrgUnitSeed(f"township_{pinyin}_hall", f"{name}珙桐议事厅", "hall", f"township_{pinyin}", "township")
                 for pinyin, name, *_ in _TOWNSHIPS]
    return townships + [OrgUnitSeed(f"{v.code}_hall", f"{v.name}珙桐议事室", "hall", v.code, "township")
                        for v in villages]


def org_units() -> list[OrgUnitSeed]:
    """All demo org units, parents listed before children."""
    units = [OrgUnitSeed(COUNTY_CODE, COUNTY_NAME, "county", None, "county")]
    units += [OrgUnitSeed(c, n, "committee", COUNTY_CODE, "committee") for c, n in _pairs(_COMMITTEES)]
    units += [OrgUnitSeed(c, n, "sector", COUNTY_CODE, "committee") for c, n in _pairs(_SECTORS)]
    units += [
        OrgUnitSeed(f"township_{pinyin}", name, "township", COUNTY_CODE, "township")
        for pinyin, name, *_ in _TOWNSHIPS
    ]
    villages = _villages()
    units += villages + _halls(villages)
    units += [OrgUnitSeed(c, n, "department", COUNTY_CODE, None) for c, n in _departments()]
    return units


class _NameMaker:
    """Deterministic source of unique, plausible Chinese personal names."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._seen: set[str] = set()

    def next(self) -> str:
        """A personal name not handed out before."""
        while True:
            size = 1 if self._rng.random() < 0.3 else 2
            name = self._rng.choice(_SURNAMES) + "".join(self._rng.choices(_GIVEN, k=size))
            if name not in self._seen:
                self._seen.add(name)
                return name


def _members(names: _NameMaker) -> list[UserSeed]:
    """CPPCC members m001…m229, each in one township, one sector group and one special committee."""
    townships, sectors, committees = township_codes(), sector_codes(), committee_codes()
    kinds = [kind for kind, count in MEMBER_COUNTS for _ in range(count)]
    return [
        UserSeed(
            f"m{index + 1:03d}",
            names.next(),
            (("member", townships[index % len(townships)]), ("member", sectors[index % len(sectors)]),
             ("member", committees[index % len(committees)])),
            kind,
        )
        for index, kind in enumerate(kinds)
    ]


def _tier_staff(names: _NameMaker, suffix: str, org_code: str) -> list[UserSeed]:
    """Platform lead, organizer and supervisor accounts for one tier org unit."""
    prefixes = {"platform_lead": "lead", "organizer": "organizer", "supervisor": "supervisor"}
    return [UserSeed(f"{prefixes[role]}_{suffix}", names.next(), ((role, org_code),)) for role in TIER_ROLES]


def _staff(names: _NameMaker) -> list[UserSeed]:
    """County office staff, tier staff for every platform and two liaisons per department."""
    staff = [
        UserSeed(username, names.next(), ((role, COUNTY_CODE),))
        for username, role in (
            ("admin", "admin"), ("owner", "process_owner"), ("office", "office"), ("office2", "office"),
        )
    ]
    staff += _tier_staff(names, "county", COUNTY_CODE)
    for code in committee_codes() + sector_codes():
        staff += _tier_staff(names, code, code)
    for code in township_codes():
        staff += _tier_staff(names, code.removeprefix("township_"), code)
    for code in department_codes():
        suffix = code.removeprefix("dept_")
        staff += [
            UserSeed(username, names.next(), (("department", code),))
            for username in (f"liaison_{suffix}", f"liaison_{suffix}_2")
        ]
    return staff


def users() -> list[UserSeed]:
    """All demo accounts: CPPCC members first, then staff; every one uses DEMO_PASSWORD."""
    names = _NameMaker(seed=20240101)
    return _members(names) + _staff(names)


def memberships_by_org(seeds: list[UserSeed]) -> dict[str, list[tuple[str, str]]]:
    """Map each org unit code to its (role, username) pairs."""
    index: dict[str, list[tuple[str, str]]] = {}
    for seed in seeds:
        for role, org_code in seed.memberships:
            index.setdefault(org_code, []).append((role, seed.username))
    return index
