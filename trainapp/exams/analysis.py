"""Exam results and item analysis, aggregated in SQL.

Results: one row per learner, the attempt that counts (highest score or last, per the exam),
picked with a window function. Item analysis: per question, how often it was on a submitted
paper, its facility (mean share of the points earned) and its discrimination (facility among
the top 27% of attempts by score minus facility among the bottom 27%).

``scope`` is a criterion on Person (``person_criterion(user)``) or None for "every attempt".
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.sql import ColumnElement, Select

from trainapp.auth.models import User
from trainapp.auth.scope import sector_family
from trainapp.extensions import db
from trainapp.exams.models import Attempt, AttemptItem, Exam
from trainapp.org.models import Enterprise, Person, Sector, Street
from trainapp.questionbank.models import Question, QuestionBank, QuestionVersion

# Kelley's groups for the discrimination index, and the fewest attempts it is computed on.
GROUP_SHARE = 0.27
MIN_ATTEMPTS_FOR_DISCRIMINATION = 10
STEM_CHARS = 60


@dataclass
class Filters:
    enterprise_id: int | None = None
    sector_id: int | None = None
    street_id: int | None = None
    audience: str | None = None
    passed: bool | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        passed = {"yes": True, "no": False}.get(args.get("passed", ""))
        return cls(enterprise_id=args.get("enterprise", type=int) or None,
                   sector_id=args.get("sector", type=int) or None,
                   street_id=args.get("street", type=int) or None,
                   audience=args.get("audience") or None, passed=passed)

    def as_args(self) -> dict:
        """The query-string form (for links to the export)."""
        out = {"enterprise": self.enterprise_id, "sector": self.sector_id, "street": self.street_id,
               "audience": self.audience,
               "passed": None if self.passed is None else ("yes" if self.passed else "no")}
        return {k: v for k, v in out.items() if v is not None}


def _with_people(stmt: Select, scope: ColumnElement[bool] | None, filters: Filters) -> Select:
    """Join the attempt's person, unit, street and sector; apply the viewer's scope and the filters."""
    stmt = (stmt.outerjoin(Person, Person.id == Attempt.person_id)
            .outerjoin(Enterprise, Enterprise.id == Person.enterprise_id)
            .outerjoin(Street, Street.id == Enterprise.street_id)
            .outerjoin(Sector, Sector.id == Enterprise.sector_id))
    if scope is not None:
        stmt = stmt.where(scope)
    if filters.enterprise_id:
        stmt = stmt.where(Enterprise.id == filters.enterprise_id)
    if filters.street_id:
        stmt = stmt.where(Enterprise.street_id == filters.street_id)
    if filters.sector_id:
        stmt = stmt.where(Enterprise.sector_id.in_(sector_family(filters.sector_id)))
    if filters.audience:
        stmt = stmt.where(Person.audience == filters.audience)
    return stmt


def _ranked_submitted(exam: Exam):
    """Each submitted attempt with its rank among the learner's attempts (1 = counts) and their number."""
    if exam.counts == "last":
        order = (Attempt.number.desc(),)
    else:  # highest score; on a tie the earlier attempt (as service.counted_attempt)
        order = (func.coalesce(Attempt.score, 0.0).desc(), Attempt.number.asc())
    return (select(Attempt.id.label("id"),
                   func.row_number().over(partition_by=Attempt.user_id, order_by=order).label("rn"),
                   func.count(Attempt.id).over(partition_by=Attempt.user_id).label("used"))
            .where(Attempt.exam_id == exam.id, Attempt.status == "submitted")
            .subquery("ranked"))


def results_statement(exam: Exam, scope: ColumnElement[bool] | None, filters: Filters) -> Select:
    """One row per learner: their counted attempt, who they are and where they work."""
    ranked = _ranked_submitted(exam)
    stmt = (select(Attempt.id.label("attempt_id"), Attempt.user_id, Attempt.number, Attempt.score,
                   Attempt.max_score, Attempt.passed, Attempt.submitted_at, Attempt.auto_submitted,
                   Attempt.leave_count, ranked.c.used,
                   Person.name.label("person_name"), Person.audience,
                   Enterprise.id.label("enterprise_id"), Enterprise.name.label("enterprise"),
                   Street.id.label("street_id"), Street.name.label("street"),
                   Sector.id.label("sector_id"), Sector.name.label("sector"),
                   User.display_name, User.username, User.mobile)
            .join(ranked, and_(ranked.c.id == Attempt.id, ranked.c.rn == 1))
            .join(User, User.id == Attempt.user_id))
    stmt = _with_people(stmt, scope, filters)
    if filters.passed is not None:
        stmt = stmt.where(Attempt.passed.is_(filters.passed))
    return stmt


def ordered(stmt: Select) -> Select:
    return stmt.order_by(Street.name, Enterprise.name, Person.name, Attempt.user_id)


@dataclass
class ResultRow:
    attempt_id: int
    user_id: int
    name: str
    enterprise: str
    street: str
    sector: str
    audience: str | None
    used: int
    score: float | None
    max_score: float
    percent: float | None
    passed: bool
    submitted_at: dt.datetime | None
    auto_submitted: bool
    leave_count: int


def to_rows(result) -> list[ResultRow]:
    rows = []
    for r in result:
        name = r.person_name or r.display_name or r.username or r.mobile or ""
        percent = 100.0 * r.score / r.max_score if r.score is not None and r.max_score else None
        submitted = r.submitted_at
        if submitted is not None and submitted.tzinfo is None:
            submitted = submitted.replace(tzinfo=dt.timezone.utc)
        rows.append(ResultRow(r.attempt_id, r.user_id, name, r.enterprise or "", r.street or "", r.sector or "",
                              r.audience, r.used, r.score, r.max_score, percent, bool(r.passed), submitted,
                              bool(r.auto_submitted), r.leave_count or 0))
    return rows


@dataclass
class Summary:
    participants: int
    passed: int
    average_percent: float | None

    @property
    def pass_rate(self) -> float | None:
        return 100.0 * self.passed / self.participants if self.participants else None


def summary(stmt: Select) -> Summary:
    sub = stmt.order_by(None).subquery()
    percent = case((sub.c.max_score > 0, sub.c.score * 100.0 / sub.c.max_score))
    n, passed, average = db.session.execute(select(
        func.count(), func.coalesce(func.sum(case((sub.c.passed.is_(True), 1), else_=0)), 0),
        func.avg(percent))).one()
    return Summary(int(n or 0), int(passed or 0), float(average) if average is not None else None)


def filter_choices(exam: Exam, scope: ColumnElement[bool] | None) -> dict[str, list[tuple[int, str]]]:
    """The units, streets and sectors of the learners the viewer sees (so no choice leaks others)."""
    sub = results_statement(exam, scope, Filters()).subquery()
    out = {}
    for key, id_col, name_col in (("enterprises", sub.c.enterprise_id, sub.c.enterprise),
                                  ("streets", sub.c.street_id, sub.c.street),
                                  ("sectors", sub.c.sector_id, sub.c.sector)):
        out[key] = [(i, n) for i, n in db.session.execute(
            select(id_col, name_col).where(id_col.is_not(None)).distinct().order_by(name_col, id_col))]
    return out


# --- item analysis -------------------------------------------------------------------

@dataclass
class ItemStat:
    question_id: int
    stem: str
    bank: str
    qtype: str
    answered: int
    facility: float
    discrimination: float | None


def _group_size(n: int) -> int:
    """How many attempts make the top (and the bottom) group; 0 when too few to say anything."""
    if n < MIN_ATTEMPTS_FOR_DISCRIMINATION:
        return 0
    return max(1, int(n * GROUP_SHARE + 0.5))


def item_analysis(exam: Exam, scope: ColumnElement[bool] | None, filters: Filters | None = None) -> list[ItemStat]:
    """Per question over the submitted attempts in scope (the filters on people apply; 'passed' does not).

    Sorted hardest first (lowest facility).
    """
    filters = Filters(filters.enterprise_id, filters.sector_id, filters.street_id, filters.audience) \
        if filters else Filters()
    share = case((Attempt.max_score > 0, func.coalesce(Attempt.score, 0.0) / Attempt.max_score), else_=0.0)
    base = _with_people(select(Attempt.id.label("id"), share.label("share"))
                        .where(Attempt.exam_id == exam.id, Attempt.status == "submitted"), scope, filters).subquery()
    n = db.session.scalar(select(func.count()).select_from(base)) or 0
    if not n:
        return []
    k = _group_size(n)
    ranked = select(
        base.c.id,
        func.row_number().over(order_by=(base.c.share.desc(), base.c.id.asc())).label("rk_top"),
        func.row_number().over(order_by=(base.c.share.asc(), base.c.id.desc())).label("rk_bottom"),
    ).subquery("ranked")
    ratio = case((AttemptItem.points > 0, func.coalesce(AttemptItem.score, 0.0) / AttemptItem.points), else_=0.0)
    stmt = (select(QuestionVersion.question_id, func.count(AttemptItem.id), func.avg(ratio),
                   func.avg(case((ranked.c.rk_top <= k, ratio))),
                   func.avg(case((ranked.c.rk_bottom <= k, ratio))))
            .join(ranked, ranked.c.id == AttemptItem.attempt_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.version_id)
            .group_by(QuestionVersion.question_id))
    stats = db.session.execute(stmt).all()
    about = {qid: (stem, qtype, bank) for qid, stem, qtype, bank in db.session.execute(
        select(Question.id, Question.stem, Question.qtype, QuestionBank.name)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(Question.id.in_([s[0] for s in stats])))}
    out = []
    for qid, answered, facility, top, bottom in stats:
        stem, qtype, bank = about.get(qid, ("", "", ""))
        stem = " ".join((stem or "").split())
        if len(stem) > STEM_CHARS:
            stem = stem[:STEM_CHARS] + "…"
        discrimination = float(top) - float(bottom) if k and top is not None and bottom is not None else None
        out.append(ItemStat(qid, stem, bank, qtype, int(answered), float(facility or 0.0), discrimination))
    out.sort(key=lambda s: (s.facility, s.question_id))
    return out


def exam_counts(exam: Exam) -> dict[str, int]:
    """Attempts (all), submitted attempts, learners who took part, and learners whose counted attempt passed."""
    total, submitted, learners = db.session.execute(select(
        func.count(Attempt.id), func.coalesce(func.sum(case((Attempt.status == "submitted", 1), else_=0)), 0),
        func.count(func.distinct(Attempt.user_id))).where(Attempt.exam_id == exam.id)).one()
    passed = summary(results_statement(exam, None, Filters())).passed
    return {"attempts": int(total or 0), "submitted": int(submitted or 0), "learners": int(learners or 0),
            "passed": passed}
