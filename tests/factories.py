"""Small builders for test data; each flushes so ids exist, the caller commits."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from trainapp.auth.models import RoleGrant, User
from trainapp.extensions import db
from trainapp.org.models import Agency, Department, District, Enterprise, Person, Sector, Street
from trainapp.org.validators import CREDIT_ALPHABET, credit_check_char

PASSWORD = "Passw0rd!x"
_serial = itertools.count(1)


def credit_code() -> str:
    n, body = next(_serial) + 5000, ""
    for _ in range(9):
        body = CREDIT_ALPHABET[n % 31] + body
        n //= 31
    first = "91310115" + body
    return first + credit_check_char(first)


def mobile() -> str:
    return f"139{next(_serial):08d}"


def district(name="测试区", code="TST") -> District:
    d = District(name=name, code=code)
    db.session.add(d)
    db.session.flush()
    return d


def street(d: District, name: str) -> Street:
    s = Street(district_id=d.id, name=name)
    db.session.add(s)
    db.session.flush()
    return s


def sector(code: str, name: str, parent: Sector | None = None) -> Sector:
    s = Sector(code=code, name=name, parent_id=parent.id if parent else None)
    db.session.add(s)
    db.session.flush()
    return s


def enterprise(st: Street, sec: Sector, name: str | None = None, **kw) -> Enterprise:
    e = Enterprise(credit_code=credit_code(), name=name or f"测试企业{next(_serial)}", street_id=st.id,
                   sector_id=sec.id, **kw)
    db.session.add(e)
    db.session.flush()
    return e


def person(ent: Enterprise | None = None, name: str | None = None, agency: Agency | None = None, **kw) -> Person:
    p = Person(name=name or f"员工{next(_serial)}", mobile=kw.pop("mobile", mobile()),
               enterprise_id=ent.id if ent else None, agency_id=agency.id if agency else None, **kw)
    db.session.add(p)
    db.session.flush()
    return p


def user(login: str, *grants: RoleGrant, person_obj: Person | None = None, mobile_login: bool = False) -> User:
    u = User(username=None if mobile_login else login, mobile=login if mobile_login else None,
             display_name=login, person_id=person_obj.id if person_obj else None)
    u.set_password(PASSWORD)
    u.grants = list(grants)
    db.session.add(u)
    db.session.flush()
    return u


@dataclass
class World:
    district: District
    street_a: Street
    street_b: Street
    trade: Sector
    dust: Sector
    chem: Sector
    ent_a1: Enterprise  # street A, 工贸/粉尘
    ent_a2: Enterprise  # street A, 危化
    ent_b1: Enterprise  # street B, 工贸
    staff_a1: Person
    staff_a2: Person
    staff_b1: Person
    agency: Agency
    regulator_person: Person
    users: dict[str, User]


def build_world() -> World:
    d = district()
    sa, sb = street(d, "甲街道"), street(d, "乙镇")
    trade = sector("industry_trade", "工贸")
    dust = sector("dust_explosion", "粉尘涉爆", parent=trade)
    chem = sector("hazardous_chemicals", "危险化学品")
    a1 = enterprise(sa, dust, "甲街道粉尘企业")
    a2 = enterprise(sa, chem, "甲街道化工企业")
    b1 = enterprise(sb, trade, "乙镇机械企业")
    db.session.add(Department(enterprise_id=a1.id, name="一车间"))
    ag = Agency(name="测试区应急管理局", district_id=d.id, sectors=[trade])
    db.session.add(ag)
    db.session.flush()
    pa1, pa2, pb1 = person(a1, "甲一员工"), person(a2, "甲二员工"), person(b1, "乙一员工")
    reg_person = person(agency=ag, name="执法人员甲", audience="regulator")
    learner_person = person(a1, "学员甲", audience="principal")
    users = {
        "admin": user("admin", RoleGrant(role="admin")),
        "manager_a": user("manager_a", RoleGrant(role="manager", street_id=sa.id)),
        "manager_b": user("manager_b", RoleGrant(role="manager", street_id=sb.id)),
        "manager_trade": user("manager_trade", RoleGrant(role="manager", district_id=d.id, sector_id=trade.id)),
        "manager_district": user("manager_district", RoleGrant(role="manager", district_id=d.id)),
        "entadmin_a1": user("entadmin_a1", RoleGrant(role="enterprise_admin", enterprise_id=a1.id)),
        "entadmin_b1": user("entadmin_b1", RoleGrant(role="enterprise_admin", enterprise_id=b1.id)),
        "regulator": user("regulator", RoleGrant(role="regulator", agency_id=ag.id)),
        "trainer": user("trainer", RoleGrant(role="trainer")),
        "learner": user(learner_person.mobile, RoleGrant(role="learner"), person_obj=learner_person,
                        mobile_login=True),
    }
    db.session.commit()
    return World(d, sa, sb, trade, dust, chem, a1, a2, b1, pa1, pa2, pb1, ag, reg_person, users)
