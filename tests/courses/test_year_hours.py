"""PersonYearHours, kept by database triggers, always equals the yearly totals summed from the archive."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, insert, select

from tests import factories
from trainapp.courses import service
from trainapp.courses.models import PersonYearHours, TrainingRecord


def _summed(db) -> dict:
    """(person, year) -> (hours, records) from the records that count, as the archive reads them."""
    current = service.current_records().subquery()
    year = func.extract("year", current.c.occurred_on) if db.engine.dialect.name == "postgresql" \
        else func.cast(func.substr(current.c.occurred_on, 1, 4), db.Integer)
    rows = db.session.execute(select(current.c.person_id, year, func.sum(current.c.hours), func.count())
                              .group_by(current.c.person_id, year)).all()
    return {(p, int(y)): (round(h, 6), n) for p, y, h, n in rows}


def _kept(db) -> dict:
    rows = db.session.execute(select(PersonYearHours.person_id, PersonYearHours.year, PersonYearHours.hours,
                                     PersonYearHours.records).where(PersonYearHours.records > 0)).all()
    return {(p, y): (round(h, 6), n) for p, y, h, n in rows}


def _record(person, day, hours, **kw):
    return TrainingRecord(person_id=person.id, enterprise_id=person.enterprise_id, kind=kw.pop("kind", "lesson"),
                          title="安全生产培训", hours=hours, occurred_on=day, **kw)


def test_records_corrections_and_bulk_inserts_keep_the_yearly_totals(db):
    world = factories.build_world()
    people = [factories.person(world.ent_a1) for _ in range(6)]
    db.session.add_all(people)
    db.session.commit()
    rng = random.Random(7)
    records = []
    for _ in range(40):  # through the ORM, one at a time
        rec = _record(rng.choice(people), dt.date(rng.choice((2025, 2026)), rng.randint(1, 12), rng.randint(1, 28)),
                      rng.choice((0.5, 1.0, 1.5, 2.0, 4.0)))
        db.session.add(rec)
        db.session.flush()
        records.append(rec)
    db.session.commit()
    assert _kept(db) == _summed(db)

    # Corrections: downwards, upwards, into another year, a correction of a correction.
    first = service.correct(records[0], None, "学时录入有误", hours=records[0].hours / 2)
    service.correct(records[1], None, "学时录入有误", hours=records[1].hours + 3)
    moved = service.correct(records[2], None, "日期有误", occurred_on=dt.date(2024, 6, 30))
    service.correct(first, None, "再次更正", hours=0.0)
    service.correct(moved, None, "日期有误", occurred_on=dt.date(2026, 1, 2))
    db.session.commit()
    assert _kept(db) == _summed(db)

    # Bulk insert, as imports do: several rows in one statement, two of them correcting the same record
    # (the record is taken off once; both corrections count).
    db.session.execute(insert(TrainingRecord), [
        dict(person_id=p.id, enterprise_id=p.enterprise_id, kind="classroom", title="集中培训", hours=2.0,
             occurred_on=dt.date(2026, 3, 15)) for p in people] + [
        dict(person_id=records[5].person_id, enterprise_id=records[5].enterprise_id, kind="correction",
             title="更正", hours=hours, occurred_on=records[5].occurred_on, corrects_id=records[5].id)
        for hours in (0.25, 0.75)])
    db.session.commit()
    assert _kept(db) == _summed(db)
    assert len(_kept(db)) >= 10


def test_a_year_whose_only_record_was_corrected_away_has_no_hours(db):
    world = factories.build_world()
    person = factories.person(world.ent_a1)
    db.session.add(person)
    db.session.commit()
    rec = _record(person, dt.date(2025, 5, 1), 3.0)
    db.session.add(rec)
    db.session.commit()
    service.correct(rec, None, "日期有误", occurred_on=dt.date(2026, 5, 1))
    db.session.commit()
    rows = {r.year: r for r in db.session.scalars(select(PersonYearHours).where(PersonYearHours.person_id == person.id))}
    assert rows[2025].records == 0  # read as "no 学时 that year", not as 0 学时
    assert (rows[2026].hours, rows[2026].records) == (3.0, 1)
    assert _kept(db) == _summed(db)
