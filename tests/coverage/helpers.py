"""A small hand-built population whose coverage figures are known, for the measure and report tests.

Period: the year 2025, looked at on 2026-03-01 (so "as of" is 2025-12-31). Key sectors are the
defaults (工贸 and 危险化学品 among them); 商务 is not one.

Principals (key sectors only):
  甲 粉尘企业 (street A, 工贸/粉尘): 主要负责人甲 trained + valid certificate -> covered;
                                     学员甲 (from the world) untrained -> untrained
  甲 化工企业 (street A, 危化):       主要负责人乙 trained, certificate expired 2025-06-30 -> no_certificate
  乙 机械企业 (street B, 工贸):       主要负责人丙 left -> not counted; 主要负责人丁 untrained
  商务 enterprise (street B):         its principal is outside the measure
  => 4 principals, 1 covered.

Staff and special workers (yearly 学时; the national rules seeded):
  甲一员工 (a1, ordinary unit, no yearly rule) 2 h -> covered
  甲二员工 (a2, flagged high-risk, annual 20 h) 10 h -> short_hours
  乙一员工 (b1) nothing -> untrained
  派遣工 (b1, 劳务派遣, joined 2025-05-01: pre-job 24 h) 24 h -> covered
  更正工 (b1) a 20 h record corrected to 2 h, no yearly rule -> covered (the correction counts)
  新员工 (b1) joined 2026-01-10 -> not counted; 离职工 (a1) left -> not counted
  特种工 (a1, special worker) 1 h -> covered; 特种工二 (a2, high-risk, annual 20) nothing -> untrained
  商务员工 (commerce unit, street B) 1 h -> covered
  => 8 counted, 5 covered (street A: 4 counted/2 covered; street B: 4/3).

Special workers' permits: 特种工 valid to 2027 -> covered; 特种工二 expired 2025-10-01 -> no_permit.
Regulators (district agency, no street): 执法人员甲 trained 2024-03 -> covered; 执法人员乙 trained
  2022-06 (more than three years before 2025-12-31) -> untrained.
Exams in 2025: 甲一员工 submitted and passed; 乙一员工 submitted and failed; nobody else.
Drills (every enterprise registered 2024-01-01; built-in rules): 甲 粉尘 drilled 2025-05-10 (yearly) -> on time;
  甲 化工 (high-risk flag: half-yearly) never -> overdue; 乙 机械 drilled 2025-03-01 with an open plan revision
  -> on time; 乙镇商场 never -> overdue; 乙镇新厂 (registered 2025-08-15, yearly) never, but owes its first
  drill only in 2026 -> on time. => 5 enterprises, 3 on time; revisions: 2 drilled, 1 with none open.
"""
from __future__ import annotations

import datetime as dt

from tests import factories as f
from tests.drills.helpers import make_drill
from tests.exams.helpers import make_bank, make_exam
from trainapp.certificates import service as cert_service
from trainapp.certificates.models import Certificate, Permit
from trainapp.courses import compliance
from trainapp.courses.models import TrainingRecord
from trainapp.exams.models import Attempt
from trainapp.extensions import db
from trainapp.org.models import Sector

TODAY = dt.date(2026, 3, 1)
YEAR = 2025


def record(person, hours, on, kind="classroom", corrects=None):
    r = TrainingRecord(person_id=person.id, enterprise_id=person.enterprise_id, kind=kind, title="培训",
                       hours=hours, occurred_on=on, corrects_id=corrects.id if corrects else None)
    db.session.add(r)
    db.session.flush()
    return r


def certificate(person, issued, until):
    tpl = cert_service.ensure_default_template()
    c = Certificate(number=f"SH-T-{person.id}-{issued}", code=f"c{person.id}{issued:%Y%m%d}", template_id=tpl.id,
                    person_id=person.id, holder_name=person.name, exam_title="考试", issued_on=issued,
                    valid_until=until, enterprise_id=person.enterprise_id, status="valid")
    db.session.add(c)
    return c


def build(world) -> dict:
    compliance.seed_requirements()
    d = {}
    commerce = Sector(code="commerce", name="商务")
    db.session.add(commerce)
    db.session.flush()
    shop = f.enterprise(world.street_b, commerce, "乙镇商场")
    world.ent_a2.high_risk = True
    p_a = f.person(world.ent_a1, "主要负责人甲", audience="principal")
    p_b = f.person(world.ent_a2, "主要负责人乙", audience="principal")
    f.person(world.ent_b1, "主要负责人丙", audience="principal", status="left")
    d["p_d"] = f.person(world.ent_b1, "主要负责人丁", audience="principal")
    f.person(shop, "商场负责人", audience="principal")
    record(p_a, 4, dt.date(2025, 3, 1))
    certificate(p_a, dt.date(2025, 3, 2), dt.date(2026, 3, 1))
    record(p_b, 4, dt.date(2025, 4, 1))
    certificate(p_b, dt.date(2024, 6, 30), dt.date(2025, 6, 30))

    record(world.staff_a1, 2, dt.date(2025, 5, 5))
    record(world.staff_a2, 10, dt.date(2025, 6, 5))
    dispatched = f.person(world.ent_b1, "派遣工", employment_type="dispatched", joined_on=dt.date(2025, 5, 1))
    record(dispatched, 24, dt.date(2025, 7, 1))
    fixed = f.person(world.ent_b1, "更正工")
    wrong = record(fixed, 20, dt.date(2025, 8, 1))
    record(fixed, 2, dt.date(2025, 8, 1), kind="correction", corrects=wrong)
    f.person(world.ent_b1, "新员工", joined_on=dt.date(2026, 1, 10))
    gone = f.person(world.ent_a1, "离职工", status="left")
    record(gone, 30, dt.date(2025, 2, 1))
    sw1 = f.person(world.ent_a1, "特种工", audience="special_worker")
    record(sw1, 1, dt.date(2025, 9, 9))
    sw2 = f.person(world.ent_a2, "特种工二", audience="special_worker")
    shop_staff = f.person(shop, "商务员工")
    record(shop_staff, 1, dt.date(2025, 9, 9))
    db.session.add_all([
        Permit(person_id=sw1.id, enterprise_id=sw1.enterprise_id, operation_type="电工作业", number="T1",
               issued_on=dt.date(2021, 1, 1), valid_until=dt.date(2027, 1, 1)),
        Permit(person_id=sw2.id, enterprise_id=sw2.enterprise_id, operation_type="焊接与热切割作业", number="T2",
               issued_on=dt.date(2019, 10, 1), valid_until=dt.date(2025, 10, 1)),
    ])

    reg2 = f.person(agency=world.agency, name="执法人员乙", audience="regulator")
    record(world.regulator_person, 8, dt.date(2024, 3, 1))
    record(reg2, 8, dt.date(2022, 6, 1))

    bank = make_bank("覆盖率题库")
    exam = make_exam(bank, title="覆盖率考试")
    user = world.users["learner"]
    for n, (person, passed) in enumerate(((world.staff_a1, True), (world.staff_b1, False)), start=1):
        moment = dt.datetime(2025, 10, n, 9, tzinfo=dt.timezone.utc)
        db.session.add(Attempt(exam_id=exam.id, user_id=user.id, person_id=person.id, number=n, status="submitted",
                               started_at=moment, deadline=moment + dt.timedelta(hours=1), submitted_at=moment,
                               score=90 if passed else 10, max_score=100, passed=passed))
    for ent in (world.ent_a1, world.ent_a2, world.ent_b1, shop):
        ent.created_at = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    newcomer = f.enterprise(world.street_b, world.trade, "乙镇新厂")
    newcomer.created_at = dt.datetime(2025, 8, 15, 2, tzinfo=dt.timezone.utc)
    make_drill(world.ent_a1, dt.date(2025, 5, 10))
    make_drill(world.ent_b1, dt.date(2025, 3, 1), revision_state="open")
    db.session.commit()
    d.update(shop=shop, sw2=sw2, dispatched=dispatched, fixed=fixed, reg2=reg2)
    return d
