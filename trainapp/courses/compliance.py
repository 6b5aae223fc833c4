"""Yearly 学时 requirements (DOMAIN §4) and where each person stands against them in a year.

The rules are data (`Requirement` rows, editable by an admin) seeded from 《生产经营单位安全培训规定》:

- principals and safety managers: initial 32, every year 12; in high-risk units initial 48, every year 16;
- staff and special workers (从业人员): pre-job 24; in high-risk units pre-job 72 and every year 20. The
  regulation gives ordinary staff no yearly figure, so there is no such rule: their status in a year
  that is not their first is "no yearly requirement" unless an admin adds one.

Which rule applies in a year: the initial rule when the person joined that year, or changed post or
came back after a year or more away that year (re-training, `PersonEvent`); otherwise the annual rule.
A high-risk unit (the enterprise's flag, or its sector's or parent sector's) uses the high-risk rule
and falls back to the ordinary one when there is no high-risk rule for that audience and kind.

Many people at once (an enterprise's compliance page) take three queries: the people, one grouped
sum of hours per person for the year, and the re-training events; never one query per person.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import aliased

from trainapp.courses.models import PersonEvent, Requirement, TrainingRecord
from trainapp.extensions import db
from trainapp.org.models import Enterprise, Person, Sector

SOURCE = "《生产经营单位安全培训规定》（原国家安监总局令第3号）"
KINDS = ("initial", "annual")
RETRAIN_EVENTS = ("post_change", "return")
STATUSES = ("met", "short", "not_started", "none")

# (audience, high-risk unit, kind, 学时)
DEFAULT_RULES = (
    ("principal", False, "initial", 32), ("principal", False, "annual", 12),
    ("principal", True, "initial", 48), ("principal", True, "annual", 16),
    ("safety_manager", False, "initial", 32), ("safety_manager", False, "annual", 12),
    ("safety_manager", True, "initial", 48), ("safety_manager", True, "annual", 16),
    ("staff", False, "initial", 24), ("staff", True, "initial", 72), ("staff", True, "annual", 20),
    ("special_worker", False, "initial", 24), ("special_worker", True, "initial", 72),
    ("special_worker", True, "annual", 20),
)


def seed_requirements() -> int:
    """Add the national rules that are missing (an edited rule is left as it is); returns how many were added."""
    return len(add_missing_rules())


def add_missing_rules() -> list[Requirement]:
    """The DEFAULT_RULES not yet in the table, added and flushed (idempotent)."""
    existing = {(a, bool(h), k) for a, h, k in db.session.execute(
        select(Requirement.audience, Requirement.high_risk, Requirement.kind))}
    added = []
    for audience, high_risk, kind, hours in DEFAULT_RULES:
        if (audience, high_risk, kind) not in existing:
            added.append(Requirement(audience=audience, high_risk=high_risk, kind=kind, hours=float(hours),
                                     source=SOURCE))
    db.session.add_all(added)
    db.session.flush()
    return added


# --- rules -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    id: int
    audience: str
    high_risk: bool
    kind: str
    hours: float
    source: str


class Rules:
    """All requirement rows, looked up by (audience, high risk, kind)."""

    def __init__(self, rows):
        self.by_key = {(r.audience, bool(r.high_risk), r.kind): Rule(r.id, r.audience, bool(r.high_risk), r.kind,
                                                                     float(r.hours), r.source or "")
                       for r in rows}

    @classmethod
    def load(cls) -> Rules:
        return cls(db.session.scalars(select(Requirement)).all())

    def find(self, audience: str, high_risk: bool, kind: str) -> Rule | None:
        rule = self.by_key.get((audience, bool(high_risk), kind))
        if rule is None and high_risk:
            rule = self.by_key.get((audience, False, kind))
        return rule

    def applicable(self, audience: str, high_risk: bool, initial: bool) -> Rule | None:
        """The rule for a year: initial in a (re-)training year, else annual; initial falls back to annual."""
        if initial:
            return self.find(audience, high_risk, "initial") or self.find(audience, high_risk, "annual")
        return self.find(audience, high_risk, "annual")


# --- status ----------------------------------------------------------------------------

@dataclass
class Status:
    year: int
    required: float | None
    accrued: float
    rule: Rule | None = None
    reason: str = ""  # joined | post_change | return | "" (the annual rule)

    @property
    def code(self) -> str:
        if self.required is None:
            return "none"
        if self.accrued + 1e-9 >= self.required:
            return "met"
        if self.accrued <= 1e-9:
            return "not_started"
        return "short"

    @property
    def shortfall(self) -> float:
        if self.required is None:
            return 0.0
        return max(0.0, round(self.required - self.accrued, 2))


def status_for(year: int, audience: str, high_risk: bool, joined_on: dt.date | None, event_kind: str | None,
               accrued: float, rules: Rules) -> Status:
    """The status of one person in `year` from plain facts (shared by the single and the bulk path)."""
    accrued = round(float(accrued or 0.0), 2)
    if joined_on is not None and joined_on.year > year:
        return Status(year, None, accrued)  # not yet with the unit that year
    reason = ""
    if joined_on is not None and joined_on.year == year:
        reason = "joined"
    elif event_kind:
        reason = event_kind
    rule = rules.applicable(audience, high_risk, initial=bool(reason))
    if rule is None:
        return Status(year, None, accrued, None, reason)
    if rule.kind == "annual":
        reason = ""
    return Status(year, rule.hours, accrued, rule, reason)


def high_risk_column(enterprise=Enterprise, sector=Sector, parent=None):
    """SQL: the enterprise is flagged high-risk, or its sector or the sector's parent is."""
    parent = parent if parent is not None else aliased(Sector)
    return or_(enterprise.high_risk, sector.high_risk, func.coalesce(parent.high_risk, false()))


def enterprise_is_high_risk(enterprise_id: int | None) -> bool:
    if enterprise_id is None:
        return False
    parent = aliased(Sector)
    value = db.session.scalar(
        select(high_risk_column(Enterprise, Sector, parent)).select_from(Enterprise)
        .join(Sector, Sector.id == Enterprise.sector_id).outerjoin(parent, parent.id == Sector.parent_id)
        .where(Enterprise.id == enterprise_id))
    return bool(value)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def retraining_event(person_id: int, year: int) -> str | None:
    start, end = _year_bounds(year)
    return db.session.scalar(select(PersonEvent.kind).where(
        PersonEvent.person_id == person_id, PersonEvent.kind.in_(RETRAIN_EVENTS),
        PersonEvent.on.between(start, end)).order_by(PersonEvent.on, PersonEvent.id).limit(1))


def person_status(person: Person, year: int, rules: Rules | None = None) -> Status:
    """One person's status in `year` (accrued through `service.hours_in_year`)."""
    from trainapp.courses.service import hours_in_year

    rules = rules or Rules.load()
    return status_for(year, person.audience, enterprise_is_high_risk(person.enterprise_id), person.joined_on,
                      retraining_event(person.id, year), hours_in_year(person.id, year), rules)


# --- many people at once ---------------------------------------------------------------------

def hours_by_person(year: int, person_ids) -> dict[int, float]:
    """学时 per person in `year` in one grouped query; corrected records count by their correction only.

    `person_ids`: a SELECT of person ids (or a list).
    """
    start, end = _year_bounds(year)
    corrected = select(TrainingRecord.corrects_id).where(TrainingRecord.corrects_id.is_not(None))
    rows = db.session.execute(
        select(TrainingRecord.person_id, func.sum(TrainingRecord.hours))
        .where(TrainingRecord.person_id.in_(person_ids), TrainingRecord.occurred_on.between(start, end),
               TrainingRecord.id.not_in(corrected))
        .group_by(TrainingRecord.person_id))
    return {pid: float(total or 0.0) for pid, total in rows}


def events_by_person(year: int, person_ids) -> dict[int, str]:
    """The first re-training event of each person in `year` (one query)."""
    start, end = _year_bounds(year)
    rows = db.session.execute(
        select(PersonEvent.person_id, PersonEvent.kind)
        .where(PersonEvent.person_id.in_(person_ids), PersonEvent.kind.in_(RETRAIN_EVENTS),
               PersonEvent.on.between(start, end))
        .order_by(PersonEvent.person_id, PersonEvent.on.desc(), PersonEvent.id.desc()))
    return {pid: kind for pid, kind in rows}  # the earliest event wins (it comes last)


@dataclass
class PersonRow:
    """One line of a compliance table."""
    id: int
    name: str
    mobile: str | None
    audience: str
    department_id: int | None
    enterprise_id: int | None
    joined_on: dt.date | None
    high_risk: bool
    status: Status


def people_statement(enterprise_ids) -> Select:
    """Active staff of the enterprises (a list or a SELECT of ids), with the high-risk flag of their unit."""
    parent = aliased(Sector)
    return (select(Person.id, Person.name, Person.mobile, Person.audience, Person.department_id,
                   Person.enterprise_id, Person.joined_on,
                   high_risk_column(Enterprise, Sector, parent).label("high_risk"))
            .join(Enterprise, Enterprise.id == Person.enterprise_id)
            .join(Sector, Sector.id == Enterprise.sector_id)
            .outerjoin(parent, parent.id == Sector.parent_id)
            .where(Person.enterprise_id.in_(enterprise_ids), Person.status == "active"))


def statuses(year: int, enterprise_ids, *, department_id: int | None = None,
             audience: str | None = None, rules: Rules | None = None) -> list[PersonRow]:
    """Every active person of the enterprises with their status in `year`, ordered by unit and name."""
    rules = rules or Rules.load()
    people = people_statement(enterprise_ids)
    ids = select(Person.id).where(Person.enterprise_id.in_(enterprise_ids), Person.status == "active")
    if department_id:
        people = people.where(Person.department_id == department_id)
        ids = ids.where(Person.department_id == department_id)
    if audience:
        people = people.where(Person.audience == audience)
        ids = ids.where(Person.audience == audience)
    hours = hours_by_person(year, ids)
    events = events_by_person(year, ids)
    out = []
    for pid, name, mobile, aud, dep, ent, joined, high_risk in db.session.execute(
            people.order_by(Person.enterprise_id, Person.name, Person.id)):
        high_risk = bool(high_risk)
        st = status_for(year, aud, high_risk, joined, events.get(pid), hours.get(pid, 0.0), rules)
        out.append(PersonRow(pid, name, mobile, aud, dep, ent, joined, high_risk, st))
    return out


def summary(rows: list[PersonRow]) -> dict[int, dict[str, int]]:
    """Per enterprise: how many people, and how many in each status."""
    out: dict[int, dict[str, int]] = {}
    for r in rows:
        counts = out.setdefault(r.enterprise_id, {"people": 0, **{s: 0 for s in STATUSES}})
        counts["people"] += 1
        counts[r.status.code] += 1
    return out
