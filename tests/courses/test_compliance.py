"""Yearly 学时 requirements: seeding, accrual across the year boundary, initial vs annual, high-risk
rules, re-training triggers, corrections, and the bulk computation (a fixed number of queries)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from tests import factories
from trainapp.courses import compliance, service
from trainapp.courses.models import PersonEvent, Requirement, TrainingRecord
from trainapp.extensions import db as _db
from trainapp.org.models import Person


def add_record(person, on: dt.date, hours: float, title: str = "安全培训", kind: str = "classroom",
               enterprise=None, **kw) -> TrainingRecord:
    rec = TrainingRecord(person_id=person.id, enterprise_id=enterprise.id if enterprise else person.enterprise_id,
                         kind=kind, title=title, hours=hours, occurred_on=on, **kw)
    _db.session.add(rec)
    _db.session.flush()
    return rec


def status(person, year):
    return compliance.person_status(person, year)


def bulk(enterprise, year, **kw):
    return {r.id: r.status for r in compliance.statuses(year, [enterprise.id], **kw)}


@pytest.fixture
def rules(db):
    compliance.seed_requirements()
    db.session.commit()


# --- seeding ---------------------------------------------------------------------------------

def test_seed_is_idempotent_and_keeps_edits(db):
    assert compliance.seed_requirements() == 14
    db.session.commit()
    rows = {(r.audience, r.high_risk, r.kind): r for r in db.session.scalars(select(Requirement))}
    assert rows[("principal", False, "initial")].hours == 32 and rows[("principal", False, "annual")].hours == 12
    assert rows[("safety_manager", True, "initial")].hours == 48
    assert rows[("safety_manager", True, "annual")].hours == 16
    assert rows[("staff", False, "initial")].hours == 24 and rows[("staff", True, "initial")].hours == 72
    assert rows[("special_worker", True, "annual")].hours == 20
    assert ("staff", False, "annual") not in rows and ("special_worker", False, "annual") not in rows
    assert all("安监总局令第3号" in r.source for r in rows.values())
    rows[("principal", False, "annual")].hours = 14
    db.session.delete(rows[("staff", True, "annual")])
    db.session.commit()
    assert compliance.seed_requirements() == 1  # only the deleted one comes back
    db.session.commit()
    assert compliance.seed_requirements() == 0
    assert db.session.scalar(select(Requirement.hours).where(Requirement.audience == "principal",
                                                             Requirement.high_risk.is_(False),
                                                             Requirement.kind == "annual")) == 14


# --- accrual and the year boundary ---------------------------------------------------------------

def test_hours_accrue_by_calendar_year_across_the_boundary(world, rules, db):
    p = factories.person(world.ent_b1, "跨年员工", audience="principal", joined_on=dt.date(2020, 5, 1))
    add_record(p, dt.date(2025, 12, 31), 8)
    add_record(p, dt.date(2026, 1, 1), 5)
    add_record(p, dt.date(2024, 12, 31), 30)
    db.session.commit()
    assert service.hours_in_year(p.id, 2025) == 8 and service.hours_in_year(p.id, 2026) == 5
    s25, s26 = status(p, 2025), status(p, 2026)
    assert (s25.required, s25.accrued, s25.code, s25.shortfall) == (12, 8, "short", 4)
    assert (s26.required, s26.accrued, s26.code, s26.shortfall) == (12, 5, "short", 7)
    add_record(p, dt.date(2026, 12, 31), 7)
    db.session.commit()
    s26 = status(p, 2026)
    assert s26.accrued == 12 and s26.code == "met"
    assert bulk(world.ent_b1, 2026)[p.id].code == "met"
    assert bulk(world.ent_b1, 2025)[p.id].accrued == 8


def test_not_started_short_and_met(world, rules, db):
    p = factories.person(world.ent_b1, audience="safety_manager", joined_on=dt.date(2019, 1, 1))
    db.session.commit()
    assert status(p, 2026).code == "not_started" and status(p, 2026).required == 12
    add_record(p, dt.date(2026, 6, 1), 11.5)
    db.session.commit()
    assert status(p, 2026).code == "short" and status(p, 2026).shortfall == 0.5
    add_record(p, dt.date(2026, 6, 2), 0.5)
    db.session.commit()
    assert status(p, 2026).code == "met"


# --- initial vs annual -----------------------------------------------------------------------------

def test_initial_rule_in_the_year_of_joining_then_annual(world, rules, db):
    p = factories.person(world.ent_b1, audience="principal", joined_on=dt.date(2026, 3, 1))
    db.session.commit()
    s = status(p, 2026)
    assert s.required == 32 and s.rule.kind == "initial" and s.reason == "joined"
    assert status(p, 2027).required == 12 and status(p, 2027).rule.kind == "annual"
    assert status(p, 2025).code == "none"  # before joining: nothing required
    no_date = factories.person(world.ent_b1, audience="principal")
    db.session.commit()
    assert status(no_date, 2026).required == 12


def test_ordinary_staff_have_no_yearly_requirement_after_their_first_year(world, rules, db):
    p = factories.person(world.ent_b1, audience="staff", joined_on=dt.date(2025, 7, 1))
    add_record(p, dt.date(2026, 2, 1), 6)
    db.session.commit()
    assert status(p, 2025).required == 24  # pre-job training
    s = status(p, 2026)
    assert s.required is None and s.code == "none" and s.accrued == 6
    worker = factories.person(world.ent_b1, audience="special_worker", joined_on=dt.date(2020, 1, 1))
    db.session.commit()
    assert status(worker, 2026).code == "none"
    # An admin adds a local yearly rule: it applies, and high-risk staff keep their own.
    db.session.add(Requirement(audience="staff", high_risk=False, kind="annual", hours=8, source="区级要求"))
    db.session.commit()
    s = status(p, 2026)
    assert (s.required, s.code, s.shortfall) == (8, "short", 2) and s.rule.source == "区级要求"


# --- high-risk units ---------------------------------------------------------------------------

def test_high_risk_by_enterprise_flag_sector_or_parent_sector(world, rules, db):
    flagged = factories.enterprise(world.street_b, world.trade, "高危标记企业", high_risk=True)
    smelting_parent = factories.sector("metal_parent", "冶金")
    smelting_parent.high_risk = True
    child = factories.sector("metal_child", "炼钢", parent=smelting_parent)
    by_parent = factories.enterprise(world.street_b, child, "炼钢企业")
    world.chem.high_risk = True
    people = {
        "flag": factories.person(flagged, audience="principal", joined_on=dt.date(2018, 1, 1)),
        "sector": factories.person(world.ent_a2, audience="safety_manager", joined_on=dt.date(2018, 1, 1)),
        "parent": factories.person(by_parent, audience="principal", joined_on=dt.date(2026, 2, 1)),
        "ordinary": factories.person(world.ent_b1, audience="principal", joined_on=dt.date(2018, 1, 1)),
        "staff_new": factories.person(world.ent_a2, audience="staff", joined_on=dt.date(2026, 4, 1)),
        "staff_old": factories.person(world.ent_a2, audience="staff", joined_on=dt.date(2018, 4, 1)),
        "worker_old": factories.person(flagged, audience="special_worker", joined_on=dt.date(2018, 4, 1)),
    }
    db.session.commit()
    got = {k: status(p, 2026).required for k, p in people.items()}
    assert got == {"flag": 16, "sector": 16, "parent": 48, "ordinary": 12, "staff_new": 72, "staff_old": 20,
                   "worker_old": 20}
    # The bulk path agrees with the single-person path.
    in_bulk = {}
    for ent in (flagged, world.ent_a2, by_parent, world.ent_b1):
        in_bulk.update({pid: st.required for pid, st in bulk(ent, 2026).items()})
    assert {k: in_bulk[p.id] for k, p in people.items()} == got


def test_high_risk_falls_back_to_the_ordinary_rule(world, rules, db):
    world.chem.high_risk = True
    db.session.execute(Requirement.__table__.delete().where(Requirement.audience == "principal",
                                                             Requirement.high_risk.is_(True)))
    p = factories.person(world.ent_a2, audience="principal", joined_on=dt.date(2018, 1, 1))
    db.session.commit()
    assert status(p, 2026).required == 12


# --- re-training triggers -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["post_change", "return"])
def test_post_change_or_return_means_initial_hours_that_year(world, rules, db, kind):
    p = factories.person(world.ent_b1, audience="principal", joined_on=dt.date(2015, 1, 1))
    staff = factories.person(world.ent_b1, audience="staff", joined_on=dt.date(2015, 1, 1))
    db.session.add_all([PersonEvent(person_id=p.id, kind=kind, on=dt.date(2026, 12, 31)),
                        PersonEvent(person_id=staff.id, kind=kind, on=dt.date(2026, 1, 1))])
    db.session.commit()
    s = status(p, 2026)
    assert s.required == 32 and s.reason == kind and s.rule.kind == "initial"
    assert status(p, 2025).required == 12 and status(p, 2027).required == 12
    assert status(staff, 2026).required == 24 and status(staff, 2027).code == "none"
    rows = bulk(world.ent_b1, 2026)
    assert rows[p.id].required == 32 and rows[p.id].reason == kind and rows[staff.id].required == 24


# --- corrections -----------------------------------------------------------------------------

def test_corrections_replace_hours_and_leave_the_original_unchanged(world, rules, db):
    admin = world.users["admin"]
    p = factories.person(world.ent_b1, audience="principal", joined_on=dt.date(2015, 1, 1))
    original = add_record(p, dt.date(2026, 5, 10), 4, title="消防培训")
    add_record(p, dt.date(2026, 6, 1), 3)
    db.session.commit()
    assert service.hours_in_year(p.id, 2026) == 7
    fixed = service.correct(original, admin, "实际培训 6 学时", hours=6.0)
    db.session.commit()
    assert service.hours_in_year(p.id, 2026) == 9
    assert compliance.hours_by_person(2026, [p.id]) == {p.id: 9}
    db.session.expire_all()
    again = db.session.get(TrainingRecord, original.id)
    assert again.hours == 4 and again.title == "消防培训" and again.corrects_id is None
    # A correction moved into another year counts there, not here.
    service.correct(db.session.get(TrainingRecord, fixed.id), admin, "日期记错", occurred_on=dt.date(2025, 12, 31))
    db.session.commit()
    assert service.hours_in_year(p.id, 2026) == 3 and service.hours_in_year(p.id, 2025) == 6
    assert compliance.hours_by_person(2025, [p.id]) == {p.id: 6}
    assert bulk(world.ent_b1, 2026)[p.id].accrued == 3


def test_training_records_cannot_be_updated_or_deleted(world, db):
    rec = add_record(world.staff_b1, dt.date(2026, 1, 5), 2)
    db.session.commit()
    rec.hours = 20
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(TrainingRecord, rec.id))
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(TrainingRecord, rec.id).hours == 2


# --- many people at once ------------------------------------------------------------------------

def _count_queries(fn):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        result = fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return result, len(seen)


def test_bulk_status_uses_a_fixed_number_of_queries(world, rules, db):
    small = factories.enterprise(world.street_b, world.trade, "小企业")
    large = factories.enterprise(world.street_b, world.trade, "大企业")
    for ent, n in ((small, 2), (large, 40)):
        for i in range(n):
            p = factories.person(ent, audience="principal" if i % 2 else "staff", joined_on=dt.date(2020, 1, 1))
            add_record(p, dt.date(2026, 3, 1), i % 13)
    db.session.commit()
    rules_obj = compliance.Rules.load()
    small_id, large_id = small.id, large.id
    rows_small, q_small = _count_queries(lambda: compliance.statuses(2026, [small_id], rules=rules_obj))
    rows_large, q_large = _count_queries(lambda: compliance.statuses(2026, [large_id], rules=rules_obj))
    assert len(rows_small) == 2 and len(rows_large) == 40
    assert q_small == q_large == 3
    assert [r.status.accrued for r in rows_large] == [
        compliance.person_status(_db.session.get(Person, r.id), 2026).accrued for r in rows_large]
    assert sorted({r.status.accrued for r in rows_large}) == list(range(13))


def test_bulk_filters_and_leavers(world, rules, db):
    from trainapp.org.models import Department

    dep = Department(enterprise_id=world.ent_b1.id, name="二车间")
    db.session.add(dep)
    db.session.flush()
    a = factories.person(world.ent_b1, audience="principal", department_id=dep.id, joined_on=dt.date(2020, 1, 1))
    b = factories.person(world.ent_b1, audience="staff", joined_on=dt.date(2020, 1, 1))
    gone = factories.person(world.ent_b1, audience="principal", status="left")
    db.session.commit()
    everyone = bulk(world.ent_b1, 2026)
    assert a.id in everyone and b.id in everyone and gone.id not in everyone
    assert set(bulk(world.ent_b1, 2026, department_id=dep.id)) == {a.id}
    assert set(bulk(world.ent_b1, 2026, audience="staff")) == {b.id, world.staff_b1.id}
    counts = compliance.summary(compliance.statuses(2026, [world.ent_b1.id]))[world.ent_b1.id]
    assert counts["people"] == 3 and counts["not_started"] == 1 and counts["none"] == 2
