"""How often each enterprise must drill, and where it stands: up to date, due soon, overdue.

Periods are calendar periods of the rule's length: a 12-month rule means each calendar year,
a 6-month rule each half-year (Jan–Jun, Jul–Dec), a 3-month rule each quarter. An enterprise
owes one counting drill (全员疏散逃生 or 消防) in every period, starting with the first full
period after it was registered (a drill held during the registration period still counts and
moves the next deadline on). Its deadline is the end of the first owed period without a drill:

* ``overdue``    the deadline has passed (``overdue_since`` is the day after it);
* ``due_soon``   the deadline is within DRILL_DUE_SOON_DAYS (default 30) days;
* ``up_to_date`` it has drilled and the next deadline is further away;
* ``none_yet``   it has never drilled but owes nothing yet (newly registered).

Statuses for a whole street are computed from one query (interval as a SQL CASE built from the
rules, last drill date as a grouped subquery), then one pass in Python.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, Select, case, cast, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from trainapp.drills.models import COUNTING_KINDS, Drill, DrillRule
from trainapp.extensions import db
from trainapp.org.models import Enterprise, Sector

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATUSES = ("overdue", "due_soon", "up_to_date", "none_yet")
DEFAULT_MONTHS = 12
DEFAULT_SOON_DAYS = 30

SOURCE_FIRE_61 = "《机关、团体、企业、事业单位消防安全管理规定》（公安部令第61号）第四十条"
SOURCE_EMERGENCY_8 = "《生产安全事故应急条例》第八条"
SOURCE_PLAN_000 = "永丰街道安全生产治本攻坚三年行动实施方案（松府永办〔2024〕78号）第21条"
SOURCE_PLAN_001 = "友谊路街道工贸行业安全生产治本攻坚三年行动实施方案 第12条"
SOURCE_PLAN_003_BUILD = "虹口区建筑施工安全生产治本攻坚三年行动子方案 第14条"
SOURCE_PLAN_003_HEALTH = "虹口区卫生健康系统安全生产治本攻坚三年行动方案 第11条"

# (match, flag, sector code, months, source)
DEFAULT_RULES = [
    ("all", None, None, 12, f"{SOURCE_FIRE_61}；{SOURCE_PLAN_000}"),
    ("high_risk_sector", None, None, 6, f"{SOURCE_EMERGENCY_8}；{SOURCE_PLAN_000}"),
    ("flag", "high_risk", None, 6, f"{SOURCE_EMERGENCY_8}；{SOURCE_PLAN_000}"),
    ("flag", "crowded_venue", None, 6, SOURCE_EMERGENCY_8),
    ("flag", "fire_key_unit", None, 6, SOURCE_FIRE_61),
    ("flag", "factory_in_factory", None, 6, SOURCE_PLAN_001),
    ("sector", None, "construction", 6, f"{SOURCE_EMERGENCY_8}；{SOURCE_PLAN_003_BUILD}"),
    ("sector", None, "healthcare", 6, SOURCE_PLAN_003_HEALTH),
]
RULE_FLAGS = ("high_risk", "crowded_venue", "fire_key_unit", "factory_in_factory", "key_enterprise")


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def soon_days() -> int:
    return int(current_app.config.get("DRILL_DUE_SOON_DAYS", DEFAULT_SOON_DAYS))


# --- calendar periods ------------------------------------------------------------------

def period_start(day: dt.date, months: int) -> dt.date:
    """First day of the calendar period of `months` (3, 6 or 12) that contains `day`."""
    return dt.date(day.year, (day.month - 1) // months * months + 1, 1)


def next_period_start(day: dt.date, months: int) -> dt.date:
    start = period_start(day, months)
    month = start.month + months
    return dt.date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def period_end(day: dt.date, months: int) -> dt.date:
    """Last day of the period containing `day`."""
    return next_period_start(day, months) - dt.timedelta(days=1)


def first_owed_period(registered_on: dt.date | None, months: int) -> dt.date | None:
    """Start of the first period an enterprise registered on that day owes a drill in: the first full one."""
    if registered_on is None:
        return None
    if registered_on == period_start(registered_on, months):
        return registered_on
    return next_period_start(registered_on, months)


# --- status ------------------------------------------------------------------------------

@dataclass
class DrillStatus:
    enterprise_id: int
    months: int
    code: str
    due_on: dt.date
    last_held_on: dt.date | None

    @property
    def overdue_since(self) -> dt.date | None:
        return self.due_on + dt.timedelta(days=1) if self.code == "overdue" else None

    def days_left(self, on: dt.date) -> int:
        return (self.due_on - on).days


def compute_status(enterprise_id: int, months: int, registered_on: dt.date | None, last_held_on: dt.date | None,
                   on: dt.date, soon: int) -> DrillStatus:
    """The status on `on` of an enterprise with this interval, registration date and last counting drill."""
    starts = [s for s in (first_owed_period(registered_on, months),
                          next_period_start(last_held_on, months) if last_held_on else None) if s is not None]
    owed = max(starts) if starts else period_start(on, months)
    due_on = period_end(owed, months)
    if due_on < on:
        code = "overdue"
    elif (due_on - on).days <= soon:
        code = "due_soon"
    elif last_held_on is None:
        code = "none_yet"
    else:
        code = "up_to_date"
    return DrillStatus(enterprise_id, months, code, due_on, last_held_on)


# --- rules -----------------------------------------------------------------------------------

@dataclass
class Rule:
    """A rule as applied: a plain copy of a DrillRule (or a default), with its sector family resolved."""
    id: int | None
    match: str
    flag: str | None
    sector_id: int | None
    sector_ids: tuple[int, ...]
    months: int
    source: str


def _family(sector_id: int) -> tuple[int, ...]:
    children = db.session.scalars(select(Sector.id).where(Sector.parent_id == sector_id)).all()
    return (sector_id, *children)


def load_rules() -> list[Rule]:
    """The active rules; the built-in defaults when the table has none (a fresh installation)."""
    rows = db.session.scalars(select(DrillRule).where(DrillRule.active.is_(True)).order_by(DrillRule.id)).all()
    if rows:
        return [Rule(r.id, r.match, r.flag, r.sector_id, _family(r.sector_id) if r.sector_id else (), r.months,
                     r.source) for r in rows]
    codes = dict(db.session.execute(select(Sector.code, Sector.id)).all())
    rules = []
    for match, flag, code, months, source in DEFAULT_RULES:
        if code is not None and code not in codes:
            continue
        sector_id = codes.get(code) if code else None
        rules.append(Rule(None, match, flag, sector_id, _family(sector_id) if sector_id else (), months, source))
    return rules


def seed_rules() -> list[DrillRule]:
    """Add the default rules that are missing (matched on what they look at); returns those added."""
    codes = dict(db.session.execute(select(Sector.code, Sector.id)).all())
    have = {(r.match, r.flag, r.sector_id) for r in db.session.scalars(select(DrillRule))}
    added = []
    for match, flag, code, months, source in DEFAULT_RULES:
        if code is not None and code not in codes:
            continue
        key = (match, flag, codes.get(code) if code else None)
        if key in have:
            continue
        rule = DrillRule(match=match, flag=flag, sector_id=key[2], months=months, source=source, active=True)
        db.session.add(rule)
        added.append(rule)
        have.add(key)
    db.session.flush()
    return added


def _high_risk_sectors():
    parents = select(Sector.id).where(Sector.high_risk.is_(True))
    return select(Sector.id).where(or_(Sector.high_risk.is_(True), Sector.parent_id.in_(parents)))


def rule_criterion(rule: Rule) -> ColumnElement[bool]:
    """SQL criterion on Enterprise for the enterprises this rule covers."""
    if rule.match == "flag" and rule.flag in RULE_FLAGS:
        return getattr(Enterprise, rule.flag).is_(True)
    if rule.match == "sector" and rule.sector_ids:
        return Enterprise.sector_id.in_(rule.sector_ids)
    if rule.match == "high_risk_sector":
        return Enterprise.sector_id.in_(_high_risk_sectors())
    return literal(True)


def interval_expression(rules: list[Rule]):
    """SQL expression: months between drills for each Enterprise row (the shortest matching rule)."""
    default = min((r.months for r in rules if r.match == "all"), default=DEFAULT_MONTHS)
    specific = sorted((r for r in rules if r.match != "all" and r.months < default), key=lambda r: r.months)
    # Cast, so PostgreSQL knows the type of the bound numbers in the select list.
    if not specific:
        return cast(literal(default), Integer)
    return cast(case(*[(rule_criterion(r), r.months) for r in specific], else_=default), Integer)


def rule_applies(rule: Rule, ent: Enterprise) -> bool:
    if rule.match == "all":
        return True
    if rule.match == "flag":
        return rule.flag in RULE_FLAGS and bool(getattr(ent, rule.flag))
    if rule.match == "sector":
        return ent.sector_id in rule.sector_ids
    if rule.match == "high_risk_sector":
        sector = ent.sector
        return bool(sector.high_risk or (sector.parent is not None and sector.parent.high_risk))
    return False


def rules_for(ent: Enterprise, rules: list[Rule] | None = None) -> list[Rule]:
    """The rules that decide this enterprise's interval: those matching with the shortest interval."""
    rules = load_rules() if rules is None else rules
    matching = [r for r in rules if rule_applies(r, ent)]
    if not matching:
        return []
    months = min(r.months for r in matching)
    return [r for r in matching if r.months == months]


# --- many enterprises at once ------------------------------------------------------------------------

def registered_date(created_at: dt.datetime | None) -> dt.date | None:
    """The Shanghai date an enterprise joined the system (stored UTC; SQLite returns it naive)."""
    if created_at is None:
        return None
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.timezone.utc)
    return created_at.astimezone(SHANGHAI).date()


def _status_statement(where, on: dt.date, rules: list[Rule]) -> Select:
    last = (select(Drill.enterprise_id, func.max(Drill.held_on).label("last_held_on"))
            .where(Drill.kind.in_(COUNTING_KINDS), Drill.held_on <= on)
            .group_by(Drill.enterprise_id).subquery())
    return (select(Enterprise.id, Enterprise.created_at, interval_expression(rules).label("months"),
                   last.c.last_held_on)
            .outerjoin(last, last.c.enterprise_id == Enterprise.id)
            .where(where))


def status_rows(criterion: ColumnElement[bool], on: dt.date, *columns) -> list[tuple]:
    """(DrillStatus, *columns) for every enterprise matching `criterion`, in one query.

    For reports over a whole district (100,000 enterprises): the extra `columns` (e.g. the street)
    come with the same query, and the status is worked out once per distinct (interval, registration
    date, last drill) — many enterprises share them."""
    from functools import lru_cache

    soon = soon_days()

    @lru_cache(maxsize=None)
    def status_of(months, created_day, last_held_on):
        return compute_status(0, months, created_day, last_held_on, on, soon)

    @lru_cache(maxsize=None)
    def day_of_hour(created_hour, tz):
        return registered_date(created_hour.replace(tzinfo=tz))

    def day_of(created_at):
        # Shanghai is a whole number of hours from UTC, so the date only depends on the hour (cached on a
        # naive value: hashing an aware datetime asks its zone for the offset every time).
        if created_at is None:
            return None
        return day_of_hour(created_at.replace(minute=0, second=0, microsecond=0, tzinfo=None), created_at.tzinfo)

    stmt = _status_statement(criterion, on, load_rules()).add_columns(*columns)
    out = []
    for row in db.session.execute(stmt):
        st = status_of(int(row[2]), day_of(row[1]), row[3])
        out.append((DrillStatus(row[0], st.months, st.code, st.due_on, st.last_held_on), *row[4:]))
    return out


def _ids_criterion(enterprise_ids) -> ColumnElement[bool]:
    if isinstance(enterprise_ids, Select):
        return Enterprise.id.in_(enterprise_ids)
    return Enterprise.id.in_(list(enterprise_ids))


def statuses_where(criterion: ColumnElement[bool], on: dt.date | None = None) -> list[DrillStatus]:
    """Statuses of every enterprise matching a criterion on Enterprise, in one query."""
    return [row[0] for row in status_rows(criterion, on or today())]


def enterprise_statuses(enterprise_ids: Select | Iterable[int], on: dt.date | None = None) -> dict[int, DrillStatus]:
    """Status per enterprise id, for a SELECT of Enterprise ids or a list of ids (one query, no N+1)."""
    return {s.enterprise_id: s for s in statuses_where(_ids_criterion(enterprise_ids), on)}


def drill_status_counts(criterion: ColumnElement[bool], on: dt.date | None = None) -> dict[str, int]:
    """How many enterprises matching `criterion` (on Enterprise, e.g. enterprise_criterion(user)) are in
    each status on `on`: keys overdue, due_soon, up_to_date, none_yet and total."""
    counts = {s: 0 for s in STATUSES}
    for st in statuses_where(criterion, on):
        counts[st.code] += 1
    counts["total"] = sum(counts[s] for s in STATUSES)
    return counts


def open_revisions_criterion():
    return Drill.revision_state == "open"


def open_revision_count(criterion: ColumnElement[bool]) -> int:
    """How many drills of enterprises matching `criterion` (on Enterprise) have an open plan revision."""
    return db.session.scalar(select(func.count(Drill.id)).join(Enterprise, Enterprise.id == Drill.enterprise_id)
                             .where(criterion, open_revisions_criterion())) or 0


def open_revision_enterprise_count(criterion: ColumnElement[bool]) -> int:
    """How many enterprises matching `criterion` have at least one drill with an open plan revision."""
    return db.session.scalar(select(func.count(func.distinct(Drill.enterprise_id)))
                             .join(Enterprise, Enterprise.id == Drill.enterprise_id)
                             .where(criterion, open_revisions_criterion())) or 0
