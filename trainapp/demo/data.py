"""Fictional demo population: one district, the seeds' streets, enterprises, people, accounts."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, insert, select

from trainapp.auth.models import RoleGrant, User
from trainapp.extensions import db
from trainapp.org.models import Agency, Department, District, Enterprise, Person, Sector, Street
from trainapp.org.seed import seed_sectors
from trainapp.org.validators import CREDIT_ALPHABET, credit_check_char

DEMO_PASSWORD = "Demo@2026"
DISTRICT = ("DEMO", "示范区")
# The first four are named in the plans (seeds 000–003); the last two round out the district.
STREETS = [("永丰街道", "street"), ("友谊路街道", "street"), ("徐泾镇", "town"), ("南翔镇", "town"),
           ("新桥镇", "town"), ("中山街道", "street")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯俊峰晨阳欣怡佳琪子涵梓轩雨婷嘉豪思远志强海燕春梅冬梅丹宁博文晓东立新卫东雪莹"
PREFIXES = ["申城", "浦江", "沪联", "东方", "华亭", "嘉宝", "松泽", "青浦", "金汇", "宝丰", "安泰", "恒信", "瑞祥",
            "同创", "新沪", "明德", "众力", "天翼", "鸿运", "盛达"]
KINDS = {
    "hazardous_chemicals": ["化工", "化学品贸易"], "construction": ["建设工程", "建筑安装"],
    "fire_key": ["商业广场", "大酒店"], "gas": ["燃气", "液化气供应站"], "industry_trade": ["精密机械", "五金制品"],
    "metal_smelting": ["金属材料", "铸造"], "dust_explosion": ["木业", "铝制品"],
    "confined_space": ["污水处理", "食品"], "ammonia_refrigeration": ["冷链物流", "冷冻食品"],
    "culture_tourism": ["文化演艺", "游乐"], "special_equipment": ["电梯工程", "起重设备"],
    "healthcare": ["医院", "社区卫生服务中心"], "commerce": ["超市", "餐饮管理"],
    "ecology_environment": ["环保科技", "固废处置"], "greening_cityscape": ["环境卫生服务", "园林绿化"],
    "civil_defence": ["地下空间管理", "停车管理"], "road_transport": ["汽车运输", "客运"],
    "transport": ["物流", "货运代理"],
}
DEPARTMENTS = ["综合办公室", "安全环保部", "生产车间", "仓储物流部", "设备维修班组"]


def credit_code(serial: int, region: str = "310000") -> str:
    """A syntactically valid, fictional unified social credit code for `serial`."""
    body = ""
    for _ in range(9):
        body = CREDIT_ALPHABET[serial % 31] + body
        serial //= 31
    first17 = "91" + region + body
    return first17 + credit_check_char(first17)


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def ensure_geography() -> tuple[District, list[Street]]:
    district = db.session.scalar(select(District).filter_by(code=DISTRICT[0]))
    if district is None:
        district = District(code=DISTRICT[0], name=DISTRICT[1])
        db.session.add(district)
        db.session.flush()
    streets = []
    for name, kind in STREETS:
        street = db.session.scalar(select(Street).filter_by(district_id=district.id, name=name))
        if street is None:
            street = Street(district_id=district.id, name=name, kind=kind)
            db.session.add(street)
            db.session.flush()
        streets.append(street)
    return district, streets


def ensure_agencies(district: District, streets: list[Street], sectors: dict[str, Sector]) -> list[Agency]:
    specs = [("示范区应急管理局", None, ["industry_trade", "hazardous_chemicals"]),
             ("示范区消防救援支队", None, ["fire_key"]),
             ("示范区建设管理委员会", None, ["construction", "gas"]),
             ("示范区市场监督管理局", None, ["special_equipment"]),
             ("示范区卫生健康委员会", None, ["healthcare"]),
             ("示范区交通委员会", None, ["transport", "road_transport"])]
    specs += [(f"{s.name}平安办", s, ["industry_trade", "commerce", "fire_key"]) for s in streets]
    agencies = []
    for name, street, codes in specs:
        agency = db.session.scalar(select(Agency).filter_by(name=name))
        if agency is None:
            agency = Agency(name=name, district_id=district.id, street_id=street.id if street else None,
                            sectors=[sectors[c] for c in codes])
            db.session.add(agency)
            db.session.flush()
        agencies.append(agency)
    return agencies


def load_small() -> dict:
    """Load the demo population; running it again changes nothing."""
    rng = random.Random(2024)
    seed_sectors()
    from trainapp.courses.compliance import seed_requirements

    seed_requirements()
    district, streets = ensure_geography()
    sectors = {s.code: s for s in db.session.scalars(select(Sector))}
    agencies = ensure_agencies(district, streets, sectors)
    codes = list(KINDS)
    enterprises = []
    for i in range(40):
        code = credit_code(1000 + i)
        sector_code = codes[i % len(codes)]
        ent = db.session.scalar(select(Enterprise).filter_by(credit_code=code))
        if ent is None:
            street = streets[i % len(streets)] if i else streets[0]
            kind = KINDS[sector_code][i % 2]
            ent = Enterprise(
                credit_code=code, name=f"上海{PREFIXES[i % len(PREFIXES)]}{kind}有限公司" if i < 20
                else f"上海{PREFIXES[i % len(PREFIXES)]}{PREFIXES[(i * 7) % len(PREFIXES)]}{kind}有限公司",
                street_id=street.id, sector_id=sectors[sector_code].id,
                address=f"{street.name}示范路{100 + i}号",
                high_risk=sectors[sector_code].high_risk, crowded_venue=sector_code in ("fire_key", "commerce", "culture_tourism"),
                fire_key_unit=sector_code == "fire_key" or i % 9 == 0, factory_in_factory=i % 11 == 3,
                key_enterprise=i < 5, headcount=0)
            db.session.add(ent)
            db.session.flush()
            for dep in DEPARTMENTS[: 2 + i % 4]:
                db.session.add(Department(enterprise_id=ent.id, name=dep))
            db.session.flush()
        enterprises.append(ent)
    _ensure_people(rng, enterprises, agencies)
    accounts = _ensure_accounts(district, streets, sectors, enterprises, agencies)
    from trainapp.demo.exams import ensure_demo_certificates, ensure_demo_exams

    ensure_demo_exams()
    db.session.commit()
    ensure_demo_certificates(DEMO_PASSWORD)
    from trainapp.drills.demo import ensure_demo_drills

    ensure_demo_drills(enterprises)
    db.session.commit()
    return {"enterprises": len(enterprises), "accounts": accounts}


def _ensure_people(rng: random.Random, enterprises: list[Enterprise], agencies: list[Agency]) -> None:
    if db.session.scalar(select(func.count(Person.id)).where(Person.mobile.like("137%"))) > 0:
        return  # already loaded: the generator is deterministic, so nothing would change
    rows, serial = [], 0
    employment = ["regular"] * 6 + ["dispatched", "flexible", "outsourced"]
    for ent in enterprises:
        deps = [d.id for d in db.session.scalars(select(Department).filter_by(enterprise_id=ent.id))]
        size = 14 + (ent.id * 7) % 10
        audiences = ["principal", "safety_manager"] + ["special_worker"] * 3 + ["staff"] * (size - 5)
        for aud in audiences:
            serial += 1
            rows.append(_person_row(rng, serial, aud, rng.choice(employment) if aud == "staff" else "regular",
                                    enterprise_id=ent.id, department_id=rng.choice(deps)))
        ent.headcount = len(audiences) + rng.randint(0, 10)
    for i, agency in enumerate(agencies):
        for aud in (["leader", "committee"] if agency.street_id else ["leader", "committee", "park_staff"]) + ["regulator"] * 5:
            serial += 1
            rows.append(_person_row(rng, serial, aud, "regular", agency_id=agency.id))
    db.session.execute(insert(Person), rows)


def _person_row(rng: random.Random, serial: int, audience: str, employment: str, **org) -> dict:
    joined = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3400))
    row = {"name": person_name(rng), "mobile": f"137{serial:08d}", "audience": audience,
           "employment_type": employment, "status": "active" if rng.random() > 0.03 else "left",
           "joined_on": joined, "enterprise_id": None, "agency_id": None, "department_id": None,
           "id_number": None}
    row.update(org)
    return row


def _ensure_accounts(district, streets, sectors, enterprises, agencies) -> list[tuple[str, str, str]]:
    ent = enterprises[0]
    learner_person = db.session.scalar(select(Person).where(
        Person.enterprise_id == ent.id, Person.audience == "principal"))
    specs = [
        ("admin", None, "系统管理员", [RoleGrant(role="admin")], None),
        ("manager", None, f"{streets[0].name}安全办", [RoleGrant(role="manager", street_id=streets[0].id)], None),
        ("sector", None, "工贸行业管理员", [RoleGrant(role="manager", district_id=district.id,
                                                    sector_id=sectors["industry_trade"].id)], None),
        ("trainer", None, "培训讲师", [RoleGrant(role="trainer")], None),
        ("entadmin", None, f"{ent.name}安全管理员", [RoleGrant(role="enterprise_admin", enterprise_id=ent.id)], None),
        ("inspector", None, "应急局执法人员", [RoleGrant(role="regulator", agency_id=agencies[0].id)], None),
        (None, learner_person.mobile, learner_person.name, [RoleGrant(role="learner")], learner_person.id),
    ]
    out = []
    for username, mobile, display, grants, person_id in specs:
        login = username or mobile
        user = db.session.scalar(select(User).where((User.username == username) if username else (User.mobile == mobile)))
        if user is None:
            user = User(username=username, mobile=mobile, display_name=display, person_id=person_id)
            user.set_password(DEMO_PASSWORD)
            user.grants = grants
            db.session.add(user)
            db.session.flush()
        out.append((login, DEMO_PASSWORD, ", ".join(sorted(user.roles))))
    return out
