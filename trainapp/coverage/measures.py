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
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, Select, and_, case, cast, exists, false, func, literal, null, or_, select
from sqlalchemy.orm import aliased

from trainapp.auth.scope import enterprise_criterion, person_criterion
from trainapp.certificates.models import Certificate, Permit
from trainapp.courses import compliance
from trainapp.courses.models import PersonEvent, PersonYearHours, TrainingRecord
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

    @property
    def whole_year(self) -> bool:
        """The period is one calendar year (yearly 学时 totals are then read, not summed)."""
        return self.start == dt.date(self.start.year, 1, 1) and self.end == dt.date(self.start.year, 12, 31)

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


def _record_hours(period: Period, people, everyone: bool = False):
    """Per person: the 学时 of the period, NULL when there is no record (corrections count, not the
    records they correct). Returns (column, outer joins to add).

    For a calendar year the totals are read from `PersonYearHours`, one row per person, which triggers
    keep as records are written. For other ranges the records are summed: PostgreSQL hash-joins one
    grouped subquery best; SQLite is faster with one index seek per person on (person_id, occurred_on,
    hours), so there the column is a correlated subquery instead.
    """
    if period.whole_year:
        year = aliased(PersonYearHours)
        column = case((year.records > 0, year.hours), else_=null())
        return column, [(year, and_(year.person_id == Person.id, year.year == period.start.year))]
    where = [TrainingRecord.occurred_on.between(period.start, period.end), TrainingRecord.id.not_in(_corrected())]
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
    """FROM/WHERE shared by the measures over enterprise staff; returns (where, parent sector alias, top sector)."""
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


def _people_ids(where, parent, top):
    return (select(Person.id).join(Enterprise, Enterprise.id == Person.enterprise_id)
            .join(Sector, Sector.id == Enterprise.sector_id).outerjoin(parent, parent.id == Sector.parent_id)
            .where(*where))


def _certified(as_of: dt.date):
    return exists().where(Certificate.person_id == Person.id, Certificate.status != "revoked",
                          Certificate.issued_on <= as_of,
                          or_(Certificate.valid_until.is_(None), Certificate.valid_until >= as_of))


# --- the measures over enterprise people ------------------------------------------------------------------
#
# Five measures count enterprise people: principals, safety managers, staff, special workers' permits and
# exam participation. Each is a `PersonRule`: which audiences it counts, whether only key sectors, and when
# a member is covered, written over one per-person row (`person_rows`) that carries the facts the rules
# need: the period's 学时, the required 学时, a valid certificate, a valid permit, an exam taken. A single
# measure reads that row for its own people; the reports, which need all five, read it once for everyone
# and count every measure in the same pass (`person_counts`), so the district's people and their records
# are read once rather than five times.

@dataclass(frozen=True)
class PersonRule:
    audiences: tuple
    key_only: bool
    facts: tuple                   # the per-person facts the rule reads: hours, required, certified, permit, took
    covered: object                # (row columns) -> SQL boolean
    reason: object                 # (row columns) -> SQL reason code or NULL

    def member(self, c):
        cond = c.audience.in_(self.audiences) if len(self.audiences) > 1 else c.audience == self.audiences[0]
        return and_(cond, c.key == 1) if self.key_only else cond


def _rule_hours(hours, required):
    """Trained at all (hours not NULL) and at least the required hours (none required: any)."""
    return func.coalesce(hours, -1e9) + 1e-9 >= func.coalesce(required, -1e8)


def _trained_and_certified(c):
    return and_(c.hours.is_not(None), c.certified == 1)


def _why_not_certified(c):
    return case((c.hours.is_(None), literal("untrained")), (c.certified == 0, literal("no_certificate")),
                else_=null())


def _staff_covered(c):
    return _rule_hours(c.hours, c.required)


def _why_short(c):
    return case((c.hours.is_(None), literal("untrained")), (~_rule_hours(c.hours, c.required), literal("short_hours")),
                else_=null())


PERSON_RULES = {
    "principals": PersonRule(("principal",), True, ("hours", "certified"), _trained_and_certified, _why_not_certified),
    "safety_managers": PersonRule(("safety_manager",), True, ("hours", "certified"), _trained_and_certified,
                                  _why_not_certified),
    "staff": PersonRule(("staff", "special_worker"), False, ("hours", "required"), _staff_covered, _why_short),
    "permits": PersonRule(("special_worker",), False, ("permit",), lambda c: c.permit == 1,
                          lambda c: case((c.permit == 0, literal("no_permit")), else_=null())),
    "exam_participation": PersonRule(("principal", "safety_manager", "special_worker", "staff"), False, ("took",),
                                     lambda c: c.took == 1,
                                     lambda c: case((c.took == 0, literal("no_attempt")), else_=null())),
}


def _retrained(year_start: dt.date, year_end: dt.date):
    """People with a change of post or a return in the year (one grouped subquery, joined once; the
    events of a year are few, so they are not narrowed to the population first)."""
    return (select(PersonEvent.person_id.label("person_id"))
            .where(PersonEvent.kind.in_(compliance.RETRAIN_EVENTS), PersonEvent.on.between(year_start, year_end))
            .group_by(PersonEvent.person_id).subquery())


def _required_hours(period: Period, ctx: Context, high_risk, events):
    """The yearly 学时 a member of staff owes, looked up by one small integer so the database evaluates the
    facts once per person: audience (staff 0, special worker 1) * 4 + high-risk unit * 2 + initial year
    (joined or re-trained in the year). NULL where no rule applies."""
    year_start, year_end = dt.date(period.year, 1, 1), dt.date(period.year, 12, 31)
    initial = or_(and_(Person.joined_on.is_not(None), Person.joined_on.between(year_start, year_end)),
                  events.c.person_id.is_not(None))
    key = (case((Person.audience == "special_worker", 4), else_=0) + case((high_risk, 2), else_=0)
           + case((initial, 1), else_=0))
    hours_by_key = {}
    for a_code, audience in enumerate(("staff", "special_worker")):
        for hr in (0, 1):
            for first in (0, 1):
                rule = ctx.rules.applicable(audience, bool(hr), bool(first))
                if rule is not None:
                    hours_by_key[a_code * 4 + hr * 2 + first] = rule.hours
    return case(hours_by_key, value=key, else_=null()) if hours_by_key else cast(null(), Float)


def _exam_taken(period):
    lo = dt.datetime.combine(period.start, dt.time.min)
    hi = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min)
    return lo, hi


def _flag(condition, when=None):
    """A 0/1 column; with `when`, the (costly) condition is only evaluated for the rows it applies to."""
    if when is None:
        return case((condition, 1), else_=0)
    return case((and_(when, condition), 1), else_=0)


@dataclass
class _People:
    """The FROM, WHERE and per-person fact expressions that `person_rows` and `person_counts` share."""
    facts: dict            # name -> SQL expression: audience, key, and the facts the rules read
    where: list
    joins: list            # outer joins the facts need
    parent: object         # the parent-sector alias
    top: object            # the top-level sector id expression

    def select(self, *columns):
        stmt = (select(*columns).select_from(Person)
                .join(Enterprise, Enterprise.id == Person.enterprise_id)
                .join(Sector, Sector.id == Enterprise.sector_id)
                .outerjoin(self.parent, self.parent.id == Sector.parent_id))
        for target, on in self.joins:
            stmt = stmt.outerjoin(target, on)
        return stmt.where(*self.where)


def _people(user, period: Period, ctx: Context, codes) -> _People:
    """The enterprise people counted by any of the named measures and the facts their rules read; each fact
    is computed only for the audiences of the measures that read it."""
    rules = [PERSON_RULES[c] for c in codes]
    audiences = tuple(dict.fromkeys(a for r in rules for a in r.audiences))
    key_only = all(r.key_only for r in rules)
    where, parent, top = _enterprise_people(user, period, audiences, key_only, ctx)
    is_key = top.in_(ctx.key_sector_ids) if ctx.key_sector_ids else false()

    def needing(fact):
        """SQL: the person is counted by a measure that reads `fact` (None: every person is)."""
        wanted = [r for r in rules if fact in r.facts]
        if not wanted:
            return False
        auds = tuple(dict.fromkeys(a for r in wanted for a in r.audiences))
        keyed = all(r.key_only for r in wanted)
        if set(auds) >= set(audiences) and (not keyed or key_only):
            return None
        cond = Person.audience.in_(auds)
        return and_(cond, is_key) if keyed and not key_only else cond

    facts = {"audience": Person.audience, "key": literal(1) if key_only else _flag(is_key)}
    joins = []
    when = needing("hours")
    if when is not False:
        # Staff are most of the people: for a district-wide viewer summing every record of the period is
        # cheaper than first narrowing the records to the population.
        hours, extra = _record_hours(period, _people_ids(where, parent, top),
                                     everyone=user.has_role("admin") and "staff" in codes)
        facts["hours"] = hours if extra or when is None else case((when, hours), else_=null())
        joins += extra
    when = needing("required")
    if when is not False:
        year_start, year_end = dt.date(period.year, 1, 1), dt.date(period.year, 12, 31)
        events = _retrained(year_start, year_end)
        joins.append((events, events.c.person_id == Person.id))
        facts["required"] = _required_hours(period, ctx, compliance.high_risk_column(Enterprise, Sector, parent),
                                            events)
    when = needing("certified")
    if when is not False:
        facts["certified"] = _flag(_certified(period.as_of), when)
    when = needing("permit")
    if when is not False:
        valid = exists().where(Permit.person_id == Person.id, Permit.issued_on <= period.as_of,
                               Permit.valid_until >= period.as_of)
        facts["permit"] = _flag(valid, when)
    when = needing("took")
    if when is not False:
        lo, hi = _exam_taken(period)
        took = exists().where(Attempt.person_id == Person.id, Attempt.status == "submitted",
                              Attempt.submitted_at >= lo, Attempt.submitted_at < hi)
        facts["took"] = _flag(took, when)
    return _People(facts, where, joins, parent, top)


def person_rows(user, period: Period, ctx: Context, codes):
    """One row per enterprise person counted by any of the named measures: where they belong (unit, street,
    top-level sector), who they are, whether the sector is a key sector, and the facts the rules read."""
    people = _people(user, period, ctx, codes)
    stmt = people.select(Person.id.label("member_id"), Person.enterprise_id.label("unit_id"),
                         Enterprise.street_id.label("street_id"), people.top.label("sector_id"),
                         *_who(Enterprise.name)[:2], *_who(Enterprise.name)[3:],
                         *(expr.label(name) for name, expr in people.facts.items()))
    if db.engine.dialect.name == "sqlite":
        # Keep SQLite from folding this into the outer query, which would repeat the per-person lookups
        # (the 学时 sum above all) once for every rule that reads them.
        stmt = stmt.offset(0)
    return stmt.subquery()


def _person_measure(measure, user, period, ctx):
    rule = PERSON_RULES[measure.code]
    c = person_rows(user, period, ctx, [measure.code]).c
    return select(c.member_id, c.unit_id, c.street_id, c.sector_id, c.name, c.mobile, c.audience,
                  c.employment_type, c.unit_name, case((rule.covered(c), 1), else_=0).label("covered"),
                  rule.reason(c).label("reason"))


def person_counts(user, period: Period, ctx: Context, codes):
    """Members and covered members of each named person measure per enterprise, in one statement.

    Columns: unit_id, street_id, sector_id, then `<code>_total` and `<code>_covered` for each measure.
    Grouped by enterprise, which both databases can do while reading the enterprises in order (SQLite then
    needs no sort, and each person's records are looked up in the order they are stored); the reports add
    the enterprises up by street and sector. The rules read the facts directly (no subquery), each rule
    only for its own members, so a person's lookups run once."""
    people = _people(user, period, ctx, codes)
    c = SimpleNamespace(**people.facts)
    sums = []
    for code in codes:
        rule = PERSON_RULES[code]
        member = rule.member(c)
        sums += [func.sum(case((member, 1), else_=0)).label(f"{code}_total"),
                 func.sum(case((and_(member, rule.covered(c)), 1), else_=0)).label(f"{code}_covered")]
    return (people.select(Enterprise.id.label("unit_id"), func.max(Enterprise.street_id).label("street_id"),
                          func.max(people.top).label("sector_id"), *sums)
            .group_by(Enterprise.id))


def _exam_pass(measure, user, period, ctx):
    where, parent, top = _enterprise_people(user, period, ("principal", "safety_manager", "special_worker", "staff"),
                                            False, ctx)
    lo, hi = _exam_taken(period)
    in_period = [Attempt.person_id == Person.id, Attempt.status == "submitted",
                 Attempt.submitted_at >= lo, Attempt.submitted_at < hi]
    # Driven from the period's attempts (far fewer than the people in a district).
    where = [*where, Person.id.in_(select(Attempt.person_id).where(*in_period[1:]))]
    passed = exists().where(*in_period, Attempt.passed.is_(True))
    stmt = (select(Person.id.label("member_id"), Person.enterprise_id.label("unit_id"),
                   Enterprise.street_id.label("street_id"), top.label("sector_id"), *_who(Enterprise.name),
                   case((passed, 1), else_=0).label("covered"),
                   case((~passed, literal("not_passed")), else_=null()).label("reason"))
            .select_from(Person)
            .join(Enterprise, Enterprise.id == Person.enterprise_id)
            .join(Sector, Sector.id == Enterprise.sector_id)
            .outerjoin(parent, parent.id == Sector.parent_id))
    return stmt.where(*where)


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
                 build=_person_measure, source_exists=_records_exist))
register(Measure("safety_managers", _l("重点行业领域安全管理人员培训并取得合格证明"), "enterprise",
                 _l("重点行业领域企业在职安全生产管理人员中，本期参加培训且持有效电子合格证明的比例"),
                 build=_person_measure, source_exists=_records_exist))
register(Measure("staff", _l("从业人员参加培训并达到年度学时"), "enterprise",
                 _l("在职从业人员（含劳务派遣、灵活用工）本期参加培训且达到当年学时要求的比例"),
                 build=_person_measure, source_exists=_records_exist))
register(Measure("regulators", _l("安全监管执法人员三年内受训"), "agency",
                 _l("安全监管执法人员中，截至统计日三年内参加过培训的比例"),
                 build=_agency_people(("regulator",), _trained_since), source_exists=_agency_records_exist))
register(Measure("leaders", _l("党政领导干部年度专题培训"), "agency",
                 _l("党政领导干部中，本期参加过线下集中培训的比例"),
                 build=_agency_people(("leader",), _yearly_session), source_exists=_agency_records_exist))
register(Measure("permits", _l("特种作业人员持有效操作证"), "enterprise",
                 _l("在职特种作业人员中，统计日持有效特种作业操作证的比例"),
                 build=_person_measure, source_exists=_permits_exist))
register(Measure("drills", _l("企业疏散逃生演练按期开展"), "enterprise",
                 _l("范围内企业中，按其演练频次（每年或每半年）在统计日未逾期的比例"),
                 frame=_drills_frame, source_exists=_drills_exist))
register(Measure("drill_revisions", _l("演练发现问题的预案修订已完成"), "enterprise",
                 _l("开展过演练的企业中，没有未完成的应急预案修订的比例"),
                 frame=_revisions_frame, source_exists=_drills_exist))
register(Measure("exam_participation", _l("在线考试参考率"), "enterprise",
                 _l("企业在职人员中，本期至少交过一次考试答卷的比例"),
                 build=_person_measure, source_exists=_attempts_exist))
register(Measure("exam_pass", _l("在线考试通过率"), "enterprise",
                 _l("本期参加考试的人员中，至少通过一次的比例"),
                 build=_exam_pass, source_exists=_attempts_exist))
