"""The coverage measures, each one SQL statement grouped by street and sector.

A measure has a population (who or what must be covered: the principals of key-sector enterprises,
every active member of staff, the regulators of the agencies in scope, the enterprises…) and a rule
for when a member counts as covered. Each measure builds one SELECT whose rows are the population,
with the member's street, sector (the top-level sector, so 粉尘涉爆 counts under 工贸), unit and a
0/1 `covered` column plus a `reason` code for members who are not covered. Everything the reports
show is an aggregate over that SELECT, done by the database: the work grows with the number of
groups returned, not with the number of people read back into Python.

Dates: a period runs from `start` to `end`; certificates and permits are checked on the "as of" day,
the period's end or today, whichever comes first. The yearly 学时 rule is the one of the end's year.
People who have left (status `left`) are not in any population; people who joined after the as-of
day are not either. 劳务派遣, flexible and outsourced workers are staff like everybody else.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, Select, and_, case, cast, exists, false, func, literal, null, or_, select
from sqlalchemy.orm import aliased

from trainapp.auth.scope import enterprise_criterion, person_criterion
from trainapp.certificates.models import Certificate, Permit
from trainapp.courses import compliance
from trainapp.courses.models import PersonEvent, TrainingRecord
from trainapp.exams.models import Attempt
from trainapp.extensions import db
from trainapp.org.models import Agency, Enterprise, Person, Sector

REASON_LABELS = {
    "untrained": _l("未参加培训"),
    "no_certificate": _l("无有效合格证明"),
    "short_hours": _l("学时不足"),
    "no_permit": _l("无有效操作证"),
    "no_session": _l("未参加年度集中培训"),
    "no_attempt": _l("未参加考试"),
    "not_passed": _l("考试未通过"),
    "drill_overdue": _l("演练逾期"),
    "drill_never": _l("从未演练"),
    "revision_open": _l("预案修订未完成"),
}


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    today: dt.date

    @property
    def as_of(self) -> dt.date:
        return min(self.end, self.today)

    @property
    def year(self) -> int:
        return self.end.year

    @classmethod
    def year_of(cls, year: int, today: dt.date) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31), today)


@dataclass
class Measure:
    code: str
    label: object
    holder: str                    # enterprise | agency: whose people (or which units) are counted
    description: object = ""
    build: object = field(default=None, repr=False)   # (measure, user, period, ctx) -> Select
    source_exists: object = field(default=None, repr=False)  # (user, period) -> bool
    # Enterprise-level measures whose rule is worked out in Python (drill due dates): a DataFrame with
    # the statement's columns instead of a statement. Their population is the enterprises, not people.
    frame: object = field(default=None, repr=False)   # (measure, user, period, ctx) -> DataFrame

    def statement(self, user, period: Period, ctx: Context) -> Select:
        return self.build(self, user, period, ctx)

    def has_data(self, user, period: Period) -> bool:
        return True if self.source_exists is None else bool(self.source_exists(user, period))


@dataclass
class Context:
    """Settings a measure needs that come from data: the key sectors and the 学时 rules."""
    key_sector_ids: list[int]
    rules: compliance.Rules


# --- building blocks --------------------------------------------------------------------------------

def _corrected():
    return select(TrainingRecord.corrects_id).where(TrainingRecord.corrects_id.is_not(None))


def _record_hours(start: dt.date, end: dt.date, people, everyone: bool = False):
    """Per person: the 学时 between the dates, NULL when there is no record (corrections count, not the
    records they correct). Returns (column, outer joins to add).

    PostgreSQL hash-joins one grouped subquery best; SQLite is faster with one index seek per person on
    (person_id, occurred_on, hours), so there the column is a correlated subquery instead.
    """
    where = [TrainingRecord.occurred_on.between(start, end), TrainingRecord.id.not_in(_corrected())]
    if db.engine.dialect.name == "sqlite":
        column = (select(func.sum(TrainingRecord.hours))
                  .where(TrainingRecord.person_id == Person.id, *where).scalar_subquery())
        return column, []
    if not everyone:
        # Narrow the records to the population first, so a street's report does not sum the district's.
        where.append(TrainingRecord.person_id.in_(people))
    rec = (select(TrainingRecord.person_id.label("person_id"), func.sum(TrainingRecord.hours).label("hours"))
           .where(*where).group_by(TrainingRecord.person_id).subquery())
    return rec.c.hours, [(rec, rec.c.person_id == Person.id)]


def _enterprise_people(user, period: Period, audiences, key_only: bool, ctx: Context):
    """FROM/WHERE shared by the measures over enterprise staff; returns (statement, parent sector alias)."""
    parent = aliased(Sector)
    where = [Person.status == "active", Person.audience.in_(audiences), enterprise_criterion(user),
             or_(Person.joined_on.is_(None), Person.joined_on <= period.as_of)]
    top = func.coalesce(Sector.parent_id, Sector.id)
    if key_only:
        where.append(top.in_(ctx.key_sector_ids) if ctx.key_sector_ids else false())
    return where, parent, top


def _who(unit_name):
    """The columns a missing-people list shows, carried by every person measure so the list needs no re-join."""
    return (Person.name.label("name"), Person.mobile.label("mobile"), Person.audience.label("audience"),
            Person.employment_type.label("employment_type"), unit_name.label("unit_name"))


def _person_select(covered, reason, where, parent, top, *joins):
    stmt = (select(Person.id.label("member_id"), Person.enterprise_id.label("unit_id"),
                   Enterprise.street_id.label("street_id"), top.label("sector_id"), *_who(Enterprise.name),
                   case((covered, 1), else_=0).label("covered"), reason.label("reason"))
            .select_from(Person)
            .join(Enterprise, Enterprise.id == Person.enterprise_id)
            .join(Sector, Sector.id == Enterprise.sector_id)
            .outerjoin(parent, parent.id == Sector.parent_id))
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    return stmt.where(*where)


def _people_ids(where, parent, top):
    return (select(Person.id).join(Enterprise, Enterprise.id == Person.enterprise_id)
            .join(Sector, Sector.id == Enterprise.sector_id).outerjoin(parent, parent.id == Sector.parent_id)
            .where(*where))


def _certified(as_of: dt.date):
    return exists().where(Certificate.person_id == Person.id, Certificate.status != "revoked",
                          Certificate.issued_on <= as_of,
                          or_(Certificate.valid_until.is_(None), Certificate.valid_until >= as_of))


# --- the measures ------------------------------------------------------------------------------------

def _trained_and_certified(audience: str):
    def build(measure, user, period, ctx):
        where, parent, top = _enterprise_people(user, period, (audience,), True, ctx)
        hours, joins = _record_hours(period.start, period.end, _people_ids(where, parent, top))
        trained = hours.is_not(None)
        certified = _certified(period.as_of)
        reason = case((~trained, literal("untrained")), (~certified, literal("no_certificate")), else_=null())
        return _person_select(and_(trained, certified), reason, where, parent, top, *joins)
    return build


def _retrained(year_start: dt.date, year_end: dt.date):
    """People with a change of post or a return in the year (one grouped subquery, joined once; the
    events of a year are few, so they are not narrowed to the population first)."""
    return (select(PersonEvent.person_id.label("person_id"))
            .where(PersonEvent.kind.in_(compliance.RETRAIN_EVENTS), PersonEvent.on.between(year_start, year_end))
            .group_by(PersonEvent.person_id).subquery())


def _staff_hours(measure, user, period, ctx):
    where, parent, top = _enterprise_people(user, period, ("staff", "special_worker"), False, ctx)
    people = _people_ids(where, parent, top)
    # Staff are most of the people: for a district-wide viewer summing every record of the period is
    # cheaper than first narrowing the records to the population.
    hours, joins = _record_hours(period.start, period.end, people, everyone=user.has_role("admin"))
    year_start, year_end = dt.date(period.year, 1, 1), dt.date(period.year, 12, 31)
    events = _retrained(year_start, year_end)
    # The rule is looked up by one small integer, so the database evaluates the facts once per person:
    # audience (staff 0, special worker 1) * 4 + high-risk unit * 2 + initial year (joined or re-trained).
    initial = or_(and_(Person.joined_on.is_not(None), Person.joined_on.between(year_start, year_end)),
                  events.c.person_id.is_not(None))
    high_risk = compliance.high_risk_column(Enterprise, Sector, parent)
    key = (case((Person.audience == "special_worker", 4), else_=0) + case((high_risk, 2), else_=0)
           + case((initial, 1), else_=0))
    hours_by_key = {}
    for a_code, audience in enumerate(("staff", "special_worker")):
        for hr in (0, 1):
            for first in (0, 1):
                rule = ctx.rules.applicable(audience, bool(hr), bool(first))
                if rule is not None:
                    hours_by_key[a_code * 4 + hr * 2 + first] = rule.hours
    required = (case(hours_by_key, value=key, else_=null()) if hours_by_key else cast(null(), Float))
    inner = (select(Person.id.label("member_id"), Person.enterprise_id.label("unit_id"),
                    Enterprise.street_id.label("street_id"), top.label("sector_id"), *_who(Enterprise.name),
                    hours.label("hours"), required.label("required"))
             .select_from(Person).join(Enterprise, Enterprise.id == Person.enterprise_id)
             .join(Sector, Sector.id == Enterprise.sector_id).outerjoin(parent, parent.id == Sector.parent_id)
             .outerjoin(events, events.c.person_id == Person.id))
    for target, on in joins:
        inner = inner.outerjoin(target, on)
    inner = inner.where(*where).subquery()
    # Covered: trained at all (hours not NULL) and at least the required hours (none required: any).
    # Written with one reference to `hours` so SQLite, which inlines the subquery, seeks the index once.
    covered = func.coalesce(inner.c.hours, -1e9) + 1e-9 >= func.coalesce(inner.c.required, -1e8)
    reason = case((inner.c.hours.is_(None), literal("untrained")), (~covered, literal("short_hours")),
                  else_=null())
    return select(inner.c.member_id, inner.c.unit_id, inner.c.street_id, inner.c.sector_id, inner.c.name,
                  inner.c.mobile, inner.c.audience, inner.c.employment_type, inner.c.unit_name,
                  case((covered, 1), else_=0).label("covered"), reason.label("reason"))


def _permits(measure, user, period, ctx):
    where, parent, top = _enterprise_people(user, period, ("special_worker",), False, ctx)
    valid = exists().where(Permit.person_id == Person.id, Permit.issued_on <= period.as_of,
                           Permit.valid_until >= period.as_of)
    return _person_select(valid, case((~valid, literal("no_permit")), else_=null()), where, parent, top)


def _exam_taken(period):
    lo = dt.datetime.combine(period.start, dt.time.min)
    hi = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min)
    return lo, hi


def _exam_participation(measure, user, period, ctx):
    where, parent, top = _enterprise_people(user, period, ("principal", "safety_manager", "special_worker", "staff"),
                                            False, ctx)
    lo, hi = _exam_taken(period)
    took = exists().where(Attempt.person_id == Person.id, Attempt.status == "submitted",
                          Attempt.submitted_at >= lo, Attempt.submitted_at < hi)
    return _person_select(took, case((~took, literal("no_attempt")), else_=null()), where, parent, top)


def _exam_pass(measure, user, period, ctx):
    where, parent, top = _enterprise_people(user, period, ("principal", "safety_manager", "special_worker", "staff"),
                                            False, ctx)
    lo, hi = _exam_taken(period)
    in_period = [Attempt.person_id == Person.id, Attempt.status == "submitted",
                 Attempt.submitted_at >= lo, Attempt.submitted_at < hi]
    # Driven from the period's attempts (far fewer than the people in a district).
    where = [*where, Person.id.in_(select(Attempt.person_id).where(*in_period[1:]))]
    passed = exists().where(*in_period, Attempt.passed.is_(True))
    return _person_select(passed, case((~passed, literal("not_passed")), else_=null()), where, parent, top)


def _agency_people(audiences, covered_for):
    """Measures over the staff of government agencies (regulators, leaders): grouped by the agency's street."""
    def build(measure, user, period, ctx):
        where = [Person.status == "active", Person.audience.in_(audiences), Person.agency_id.is_not(None),
                 person_criterion(user), or_(Person.joined_on.is_(None), Person.joined_on <= period.as_of)]
        covered, reason = covered_for(period, select(Person.id).where(*where))
        return (select(Person.id.label("member_id"), Person.agency_id.label("unit_id"),
                       Agency.street_id.label("street_id"), null().label("sector_id"), *_who(Agency.name),
                       case((covered, 1), else_=0).label("covered"), reason.label("reason"))
                .select_from(Person).join(Agency, Agency.id == Person.agency_id).where(*where))
    return build


def _trained_since(period, people):
    since = dt.date(period.as_of.year - 3, period.as_of.month, min(period.as_of.day, 28))
    trained = exists().where(TrainingRecord.person_id == Person.id, TrainingRecord.occurred_on > since,
                             TrainingRecord.occurred_on <= period.as_of, TrainingRecord.id.not_in(_corrected()))
    return trained, case((~trained, literal("untrained")), else_=null())


def _yearly_session(period, people):
    held = exists().where(TrainingRecord.person_id == Person.id, TrainingRecord.kind == "classroom",
                          TrainingRecord.occurred_on.between(period.start, period.end),
                          TrainingRecord.id.not_in(_corrected()))
    return held, case((~held, literal("no_session")), else_=null())


# --- whether the data exists at all ---------------------------------------------------------------------

def _any(stmt) -> bool:
    return db.session.scalar(select(stmt.exists())) or False


def _records_exist(user, period):
    return _any(select(TrainingRecord.id).join(Enterprise, Enterprise.id == TrainingRecord.enterprise_id)
                .where(enterprise_criterion(user), TrainingRecord.occurred_on.between(period.start, period.end)))


def _agency_records_exist(user, period):
    return _any(select(TrainingRecord.id).join(Person, Person.id == TrainingRecord.person_id)
                .where(Person.agency_id.is_not(None), person_criterion(user)))


def _permits_exist(user, period):
    return _any(select(Permit.id).join(Enterprise, Enterprise.id == Permit.enterprise_id)
                .where(enterprise_criterion(user)))


def _attempts_exist(user, period):
    lo, hi = _exam_taken(period)
    return _any(select(Attempt.id).join(Person, Person.id == Attempt.person_id)
                .join(Enterprise, Enterprise.id == Person.enterprise_id)
                .where(enterprise_criterion(user), Attempt.status == "submitted",
                       Attempt.submitted_at >= lo, Attempt.submitted_at < hi))


# --- enterprise-level measures: drills ------------------------------------------------------------

FRAME_COLUMNS = ["member_id", "unit_id", "street_id", "sector_id", "covered", "reason", "detail"]


def _enterprise_places(user):
    """(id, street, top-level sector) of every enterprise in scope, in one query."""
    parent = aliased(Sector)
    return {row.id: row for row in db.session.execute(
        select(Enterprise.id, Enterprise.street_id, func.coalesce(Sector.parent_id, Sector.id).label("sector_id"))
        .join(Sector, Sector.id == Enterprise.sector_id).outerjoin(parent, parent.id == Sector.parent_id)
        .where(enterprise_criterion(user)))}


def _drills_frame(measure, user, period, ctx):
    import pandas as pd

    from trainapp.drills.service import status_rows

    top = select(func.coalesce(Sector.parent_id, Sector.id)).where(Sector.id == Enterprise.sector_id)
    rows = []
    for st, street_id, sector_id in status_rows(enterprise_criterion(user), period.as_of, Enterprise.street_id,
                                                top.scalar_subquery()):
        late = st.code == "overdue"
        reason = ("drill_never" if st.last_held_on is None else "drill_overdue") if late else None
        rows.append((st.enterprise_id, st.enterprise_id, street_id, sector_id, 0 if late else 1, reason,
                     st.due_on.isoformat()))
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _revisions_frame(measure, user, period, ctx):
    import pandas as pd

    from trainapp.drills.models import Drill

    places = _enterprise_places(user)
    open_state = func.sum(case((Drill.revision_state == "open", 1), else_=0))
    rows = []
    for ent_id, n_open, since in db.session.execute(
            select(Drill.enterprise_id, open_state, func.min(case((Drill.revision_state == "open", Drill.held_on))))
            .join(Enterprise, Enterprise.id == Drill.enterprise_id)
            .where(enterprise_criterion(user), Drill.held_on <= period.as_of).group_by(Drill.enterprise_id)):
        place = places.get(ent_id)
        if place is None:
            continue
        rows.append((ent_id, ent_id, place.street_id, place.sector_id, 0 if n_open else 1,
                     "revision_open" if n_open else None, since.isoformat() if since else ""))
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _drills_exist(user, period):
    from trainapp.drills.models import Drill

    return _any(select(Drill.id).join(Enterprise, Enterprise.id == Drill.enterprise_id)
                .where(enterprise_criterion(user)))


MEASURES: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    MEASURES[measure.code] = measure
    return measure


register(Measure("principals", _l("重点行业领域主要负责人培训并取得合格证明"), "enterprise",
                 _l("重点行业领域企业在职主要负责人中，本期参加培训且持有效电子合格证明的比例"),
                 build=_trained_and_certified("principal"), source_exists=_records_exist))
register(Measure("safety_managers", _l("重点行业领域安全管理人员培训并取得合格证明"), "enterprise",
                 _l("重点行业领域企业在职安全生产管理人员中，本期参加培训且持有效电子合格证明的比例"),
                 build=_trained_and_certified("safety_manager"), source_exists=_records_exist))
register(Measure("staff", _l("从业人员参加培训并达到年度学时"), "enterprise",
                 _l("在职从业人员（含劳务派遣、灵活用工）本期参加培训且达到当年学时要求的比例"),
                 build=_staff_hours, source_exists=_records_exist))
register(Measure("regulators", _l("安全监管执法人员三年内受训"), "agency",
                 _l("安全监管执法人员中，截至统计日三年内参加过培训的比例"),
                 build=_agency_people(("regulator",), _trained_since), source_exists=_agency_records_exist))
register(Measure("leaders", _l("党政领导干部年度专题培训"), "agency",
                 _l("党政领导干部中，本期参加过线下集中培训的比例"),
                 build=_agency_people(("leader",), _yearly_session), source_exists=_agency_records_exist))
register(Measure("permits", _l("特种作业人员持有效操作证"), "enterprise",
                 _l("在职特种作业人员中，统计日持有效特种作业操作证的比例"),
                 build=_permits, source_exists=_permits_exist))
register(Measure("drills", _l("企业疏散逃生演练按期开展"), "enterprise",
                 _l("范围内企业中，按其演练频次（每年或每半年）在统计日未逾期的比例"),
                 frame=_drills_frame, source_exists=_drills_exist))
register(Measure("drill_revisions", _l("演练发现问题的预案修订已完成"), "enterprise",
                 _l("开展过演练的企业中，没有未完成的应急预案修订的比例"),
                 frame=_revisions_frame, source_exists=_drills_exist))
register(Measure("exam_participation", _l("在线考试参考率"), "enterprise",
                 _l("企业在职人员中，本期至少交过一次考试答卷的比例"),
                 build=_exam_participation, source_exists=_attempts_exist))
register(Measure("exam_pass", _l("在线考试通过率"), "enterprise",
                 _l("本期参加考试的人员中，至少通过一次的比例"),
                 build=_exam_pass, source_exists=_attempts_exist))
