"""Spot-check rules: who may inspect what, drawing the short paper, matching and grading workers, results.

Papers are drawn and frozen with the exam machinery (`part_candidates`, `freeze_many`) and answers are
read and graded with the exam functions (`_stored_response`, `to_displayed`, the qtype REGISTRY), so a
spot-check question behaves exactly like the same question in an exam. Times come from the server clock.

Identity of an anonymous worker: the name and the last four digits of the mobile they give. They are
matched to the enterprise's active staff: one staff member with that name and those digits is a match;
two or more (by name and digits, or by name alone when the digits settle nothing) is ambiguous and
nobody is guessed; none is unmatched. Every answer is kept, whatever the match.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from trainapp.auth.scope import enterprise_criterion
from trainapp.exams.models import ExamPart
from trainapp.exams.service import (
    ExamError, ReviewRow, ShownQuestion, _stored_response, _with_versions, part_candidates, to_displayed,
)
from trainapp.extensions import db
from trainapp.models import utcnow
from trainapp.org.models import Enterprise, Person, Sector, Street
from trainapp.questionbank.models import Question, QuestionBank, QuestionVersion, freeze_many
from trainapp.questionbank.qtypes import REGISTRY
from trainapp.spotchecks.models import (
    SpotCheck, SpotCheckAnswer, SpotCheckOral, SpotCheckQuestion, SpotCheckResponse, aware,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Inspectors: they start checks and record oral questions for enterprises in their scope.
INSPECT_ROLES = ("admin", "manager", "regulator")
# Who sees results: inspectors, and enterprise admins for their own enterprise.
VIEW_ROLES = ("admin", "manager", "regulator", "enterprise_admin")
MAX_QUESTIONS = 20
DEFAULT_MINUTES = 30
MAX_MINUTES = 240
# An answer posted this long after the window closed still counts (the form was filled in while open).
SUBMIT_GRACE = dt.timedelta(seconds=60)
# The per-check cap on answers: twice the active staff, at least this many (contractors are not listed).
MIN_CAP = 50
POINTS = 1.0  # every question weighs the same: the score reads "4 of 5"
_SPACES = re.compile(r"\s+")


class SpotCheckError(Exception):
    """A rule says no; the message is for the user."""


# --- scope ---------------------------------------------------------------------------------

def inspect_criterion(user):
    """Criterion on Enterprise: the units `user` may start spot checks at."""
    return enterprise_criterion(user, INSPECT_ROLES)


def may_inspect(user, enterprise_id: int) -> bool:
    return db.session.scalar(select(Enterprise.id).where(
        Enterprise.id == enterprise_id, inspect_criterion(user))) is not None


def visible_criterion(user):
    """Criterion on SpotCheck: checks at enterprises the user may see (enterprise admins: their own)."""
    return SpotCheck.enterprise_id.in_(select(Enterprise.id).where(enterprise_criterion(user, VIEW_ROLES)))


def managed_criterion(user):
    """Criterion on SpotCheck: checks the user may run (close, add oral questions, notes)."""
    return SpotCheck.enterprise_id.in_(select(Enterprise.id).where(inspect_criterion(user)))


# --- the paper -------------------------------------------------------------------------------

def standard_banks(ent: Enterprise) -> list[QuestionBank]:
    """The active hazard-standard banks for the enterprise's sector (or its parent sector)."""
    sector_ids = [ent.sector_id]
    parent = db.session.scalar(select(Sector.parent_id).where(Sector.id == ent.sector_id))
    if parent:
        sector_ids.append(parent)
    banks = db.session.scalars(select(QuestionBank).where(
        QuestionBank.status == "active", QuestionBank.sectors.any(Sector.id.in_(sector_ids)))
        .order_by(QuestionBank.id)).all()
    hazard = [b for b in banks if b.subject.startswith("hazard_")]
    return hazard or list(banks)


def candidate_ids(banks: list[QuestionBank], tag: str = "") -> list[int]:
    """Active questions of the banks (optionally with a tag), any type, without images (workers have no account)."""
    ids: set[int] = set()
    for bank in banks:
        for qtype in REGISTRY:
            part = ExamPart(bank_id=bank.id, qtype=qtype, count=1, tag=tag)  # a blueprint line, never saved
            ids.update(db.session.scalars(part_candidates(part).where(Question.image_id.is_(None))))
    return sorted(ids)


def draw(banks: list[QuestionBank], count: int, tag: str, rng: random.Random) -> list[Question]:
    """`count` questions at random from the banks; raises SpotCheckError when there are fewer."""
    pool = candidate_ids(banks, tag)
    if len(pool) < count:
        raise SpotCheckError(_("题库中只有 %(n)d 道可用的题目，请减少题数或换一个题库", n=len(pool)))
    ids = rng.sample(pool, count)
    by_id = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [by_id[i] for i in ids]


def _cap(ent: Enterprise) -> int:
    staff = db.session.scalar(select(func.count(Person.id)).where(
        Person.enterprise_id == ent.id, Person.status == "active")) or 0
    return max(MIN_CAP, 2 * staff)


def create_check(ent: Enterprise, inspector, banks: list[QuestionBank], count: int, tag: str = "",
                 minutes: int = DEFAULT_MINUTES, title: str = "", paper_note: str = "",
                 now: dt.datetime | None = None, rng: random.Random | None = None, token: str | None = None
                 ) -> SpotCheck:
    """Draw, freeze and open a spot check at `ent` for `minutes`; flushed, not committed. Raises SpotCheckError."""
    import secrets

    if not 1 <= count <= MAX_QUESTIONS:
        raise SpotCheckError(_("题数应为 1 到 %(n)d", n=MAX_QUESTIONS))
    if not banks:
        raise SpotCheckError(_("没有适用于该单位行业的隐患判定标准题库，请选择一个题库"))
    now = now or utcnow()
    rng = rng or random.SystemRandom()
    questions = draw(banks, count, tag, rng)
    versions = freeze_many(questions)
    check = SpotCheck(enterprise_id=ent.id, inspector_id=getattr(inspector, "id", None),
                      inspector_name=getattr(inspector, "name", "") or "", title=title or _("现场抽考"),
                      paper_note=paper_note[:300], token=token or secrets.token_urlsafe(24), opens_at=now,
                      closes_at=now + dt.timedelta(minutes=minutes), max_answers=_cap(ent), notes="")
    for position, q in enumerate(questions, 1):
        order = list(range(len(q.options or [])))
        if REGISTRY[q.qtype].has_options:
            rng.shuffle(order)
        check.questions.append(SpotCheckQuestion(position=position, version_id=versions[q.id].id,
                                                 option_order=order, points=POINTS))
    db.session.add(check)
    db.session.flush()
    return check


def close_check(check: SpotCheck, now: dt.datetime | None = None) -> bool:
    """End the window now; False when it had already ended."""
    now = now or utcnow()
    if check.closes <= now:
        return False
    check.closes_at = now
    if check.opens >= now:  # closed the instant it opened: keep closes after opens
        check.opens_at = now - dt.timedelta(seconds=1)
    return True


def window_state(check: SpotCheck, now: dt.datetime | None = None) -> str:
    """'open' or 'closed' for answering at `now`."""
    return "open" if check.is_open(now or utcnow()) else "closed"


def shown_paper(check: SpotCheck) -> list[ShownQuestion]:
    """The paper as a worker sees it: stems and options in the check's order, never the key."""
    paper = []
    for item in _with_versions(list(check.questions)):
        v = item.version
        options = [v.options[i] for i in item.option_order] if v.options else []
        paper.append(ShownQuestion(item.position, v.qtype, v.stem, options, None, ""))
    return paper


# --- who answered ---------------------------------------------------------------------------------

def normalise_name(name: str) -> str:
    """Full-width to half-width, no spaces: "张 伟" and "张伟" are the same person."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def clean_last4(raw: str) -> str | None:
    digits = unicodedata.normalize("NFKC", raw or "").strip()
    return digits if len(digits) == 4 and digits.isascii() and digits.isdigit() else None


@dataclass
class Match:
    match: str  # matched | unmatched | ambiguous
    person_id: int | None
    candidates: int


def match_person(enterprise_id: int, name: str, last4: str) -> Match:
    """Find the worker in the enterprise's active staff by name and the last four mobile digits; never guess."""
    wanted = normalise_name(name)
    staff = (Person.enterprise_id == enterprise_id, Person.status == "active")
    fits = [p for p in db.session.scalars(select(Person).where(*staff, Person.mobile.endswith(last4)))
            if normalise_name(p.name) == wanted]
    if len(fits) == 1:
        return Match("matched", fits[0].id, 1)
    if len(fits) > 1:
        return Match("ambiguous", None, len(fits))
    namesakes = db.session.scalar(select(func.count(Person.id)).where(
        *staff, func.lower(func.replace(Person.name, " ", "")) == wanted)) or 0
    if namesakes > 1:  # the digits fit nobody, and the name alone fits several: do not pick one
        return Match("ambiguous", None, namesakes)
    return Match("unmatched", None, 0)


def identity(found: Match, name: str, last4: str) -> str:
    return f"p:{found.person_id}" if found.person_id else f"n:{normalise_name(name)[:60]}:{last4}"


# --- answering --------------------------------------------------------------------------------------

@dataclass
class Outcome:
    status: str  # submitted | already | closed | full | invalid
    answer: SpotCheckAnswer | None = None
    errors: dict[int, str] = field(default_factory=dict)  # question position -> message


def read_responses(check: SpotCheck, raw: dict[int, str]) -> tuple[dict[int, str], dict[int, str]]:
    """Map displayed answers (position -> letters) to stored letters; every question must be answered."""
    stored, errors = {}, {}
    for item in _with_versions(list(check.questions)):
        value = (raw.get(item.position) or "").strip()
        if not value:
            errors[item.position] = _("请回答这道题")
            continue
        try:
            stored[item.position] = _stored_response(item, value)
        except ExamError as exc:
            errors[item.position] = str(exc)
    return stored, errors


def existing_answer(check: SpotCheck, key: str) -> SpotCheckAnswer | None:
    return db.session.scalar(select(SpotCheckAnswer).where(SpotCheckAnswer.spot_check_id == check.id,
                                                           SpotCheckAnswer.identity == key))


def answer_count(check: SpotCheck) -> int:
    return db.session.scalar(select(func.count(SpotCheckAnswer.id)).where(
        SpotCheckAnswer.spot_check_id == check.id)) or 0


def submit(check: SpotCheck, name: str, last4: str, raw: dict[int, str],
           now: dt.datetime | None = None) -> Outcome:
    """Grade and store one worker's answers, once per person; flushed (the caller commits).

    Refuses outside the window (plus a short grace for forms filled in while it was open), when the
    check has its cap of answers, and when this person already answered: then the earlier answer is
    returned with status 'already'. On a lost race the transaction is rolled back, so call it first.
    """
    now = now or utcnow()
    if not (check.opens <= now <= check.closes + SUBMIT_GRACE):
        return Outcome("closed")
    stored, errors = read_responses(check, raw)
    if errors:
        return Outcome("invalid", errors=errors)
    name = _SPACES.sub(" ", name).strip()
    found = match_person(check.enterprise_id, name, last4)
    key = identity(found, name, last4)
    if (earlier := existing_answer(check, key)) is not None:
        return Outcome("already", earlier)
    if answer_count(check) >= check.max_answers:
        return Outcome("full")
    answer = SpotCheckAnswer(spot_check_id=check.id, identity=key, name=name[:50], mobile_last4=last4,
                             person_id=found.person_id, match=found.match, candidates=found.candidates,
                             submitted_at=now)
    total = max_total = 0.0
    for item in check.questions:
        v = item.version
        score = REGISTRY[v.qtype].grade(v.answer, stored[item.position], points=item.points, partial=False)
        answer.responses.append(SpotCheckResponse(question_id=item.id, response=stored[item.position], score=score,
                                                  correct=score >= item.points - 1e-9))
        total += score
        max_total += item.points
    answer.score, answer.max_score = round(total, 2), max_total
    answer.percent = round(100.0 * total / max_total, 1) if max_total else 0.0
    db.session.add(answer)
    try:
        db.session.flush()
    except IntegrityError:  # the same person, a moment ago (a double tap, two phones): the database said no
        db.session.rollback()
        return Outcome("already", existing_answer(check, key))
    return Outcome("submitted", answer)


def review(check: SpotCheck, answer: SpotCheckAnswer) -> list[ReviewRow]:
    """The worker's paper after submitting: their answers, the key, explanations, in displayed letters."""
    by_question = {r.question_id: r for r in answer.responses}
    rows = []
    for item in _with_versions(list(check.questions)):
        v = item.version
        resp = by_question.get(item.id)
        options = [v.options[i] for i in item.option_order] if v.options else []
        rows.append(ReviewRow(item.position, v.qtype, v.stem, options,
                              to_displayed(item, resp.response if resp else ""), to_displayed(item, v.answer),
                              v.explanation or "", resp.score if resp else 0.0, item.points))
    return rows


# --- results of one check -------------------------------------------------------------------------------

@dataclass
class QuestionStat:
    position: int
    qtype: str
    stem: str
    options: list[str]
    key: str  # displayed letters
    explanation: str
    answered: int
    correct: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.correct / self.answered if self.answered else None

    @property
    def missed(self) -> int:
        return self.answered - self.correct


@dataclass
class CheckResults:
    answers: list[SpotCheckAnswer]
    questions: list[QuestionStat]  # most missed first
    mean_percent: float | None
    counts: dict[str, int]  # by match
    orals: list[SpotCheckOral]


def results(check: SpotCheck) -> CheckResults:
    answers = db.session.scalars(select(SpotCheckAnswer).where(SpotCheckAnswer.spot_check_id == check.id)
                                 .options(selectinload(SpotCheckAnswer.person))
                                 .order_by(SpotCheckAnswer.submitted_at, SpotCheckAnswer.id)).all()
    tallies = dict((qid, (n, ok)) for qid, n, ok in db.session.execute(
        select(SpotCheckResponse.question_id, func.count(SpotCheckResponse.id),
               func.sum(case((SpotCheckResponse.correct, 1), else_=0)))
        .join(SpotCheckAnswer, SpotCheckAnswer.id == SpotCheckResponse.answer_id)
        .where(SpotCheckAnswer.spot_check_id == check.id).group_by(SpotCheckResponse.question_id)))
    stats = []
    for item in _with_versions(list(check.questions)):
        v = item.version
        n, ok = tallies.get(item.id, (0, 0))
        stats.append(QuestionStat(item.position, v.qtype, v.stem,
                                  [v.options[i] for i in item.option_order] if v.options else [],
                                  to_displayed(item, v.answer), v.explanation or "", int(n or 0), int(ok or 0)))
    stats.sort(key=lambda s: (-s.missed, s.position))
    counts = {m: sum(1 for a in answers if a.match == m) for m in ("matched", "unmatched", "ambiguous")}
    mean = round(sum(a.percent for a in answers) / len(answers), 1) if answers else None
    orals = db.session.scalars(select(SpotCheckOral).where(SpotCheckOral.spot_check_id == check.id)
                               .order_by(SpotCheckOral.created_at, SpotCheckOral.id)).all()
    return CheckResults(answers, stats, mean, counts, orals)


def add_oral(check: SpotCheck, question: str, quality: str, answered_by: str = "", note: str = "",
             person_id: int | None = None) -> SpotCheckOral:
    oral = SpotCheckOral(spot_check_id=check.id, question=question.strip()[:500], quality=quality,
                         answered_by=answered_by.strip()[:50], note=note.strip()[:500], person_id=person_id)
    db.session.add(oral)
    db.session.flush()
    return oral


def staff_choices(check: SpotCheck) -> list[Person]:
    return db.session.scalars(select(Person).where(Person.enterprise_id == check.enterprise_id,
                                                   Person.status == "active").order_by(Person.name, Person.id)).all()


# --- across checks: for managers and the coverage report ------------------------------------------------

def _moment(value: dt.date | dt.datetime) -> dt.datetime:
    """A date is that day's midnight in Shanghai; a naive datetime is UTC."""
    if isinstance(value, dt.datetime):
        return aware(value)
    return dt.datetime.combine(value, dt.time(), tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


@dataclass
class SummaryRow:
    street_id: int
    street: str
    sector_id: int
    sector: str
    checks: int
    answers: int
    matched: int
    mean_percent: float | None


def spot_check_summary(criterion, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> list[SummaryRow]:
    """Spot checks opened in [start, end) at enterprises meeting `criterion`, per street and sector.

    `criterion` is a SQL expression on Enterprise, e.g. ``enterprise_criterion(user)`` (pass
    ``sqlalchemy.true()`` for everything). Dates are whole days in Shanghai (``end`` excluded);
    datetimes are taken as given (naive ones as UTC). Each row counts checks, answers, answers
    matched to the staff list, and the mean score in percent over answers (None without answers).
    Rows come ordered by street, then sector; streets and sectors without checks are left out.
    """
    stmt = (select(Enterprise.street_id, Street.name, Enterprise.sector_id, Sector.name,
                   func.count(func.distinct(SpotCheck.id)), func.count(SpotCheckAnswer.id),
                   func.sum(case((SpotCheckAnswer.match == "matched", 1), else_=0)),
                   func.avg(SpotCheckAnswer.percent))
            .select_from(SpotCheck)
            .join(Enterprise, Enterprise.id == SpotCheck.enterprise_id)
            .join(Street, Street.id == Enterprise.street_id)
            .join(Sector, Sector.id == Enterprise.sector_id)
            .outerjoin(SpotCheckAnswer, SpotCheckAnswer.spot_check_id == SpotCheck.id)
            .where(criterion, SpotCheck.opens_at >= _moment(start), SpotCheck.opens_at < _moment(end))
            .group_by(Enterprise.street_id, Street.name, Enterprise.sector_id, Sector.name)
            .order_by(Enterprise.street_id, Enterprise.sector_id))
    return [SummaryRow(st, st_name, sec, sec_name, int(checks), int(answers), int(matched or 0),
                       round(float(mean), 1) if mean is not None else None)
            for st, st_name, sec, sec_name, checks, answers, matched, mean in db.session.execute(stmt)]


@dataclass
class WeakQuestion:
    question_id: int
    stem: str
    bank: str
    answered: int
    correct: int

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.answered if self.answered else 0.0


def weakest_questions(criterion, start: dt.date | dt.datetime, end: dt.date | dt.datetime,
                      limit: int = 10, min_answers: int = 3, street_id: int | None = None,
                      sector_ids: list[int] | None = None) -> list[WeakQuestion]:
    """The questions answered worst in spot checks in [start, end) (at least `min_answers` answers each)."""
    correct = func.sum(case((SpotCheckResponse.correct, 1), else_=0))
    answered = func.count(SpotCheckResponse.id)
    stmt = (select(QuestionVersion.question_id, answered, correct)
            .select_from(SpotCheckResponse)
            .join(SpotCheckQuestion, SpotCheckQuestion.id == SpotCheckResponse.question_id)
            .join(QuestionVersion, QuestionVersion.id == SpotCheckQuestion.version_id)
            .join(SpotCheck, SpotCheck.id == SpotCheckQuestion.spot_check_id)
            .join(Enterprise, Enterprise.id == SpotCheck.enterprise_id)
            .where(criterion, SpotCheck.opens_at >= _moment(start), SpotCheck.opens_at < _moment(end))
            .group_by(QuestionVersion.question_id)
            .having(answered >= min_answers)
            .order_by((1.0 * correct / answered), answered.desc(), QuestionVersion.question_id)
            .limit(limit))
    if street_id:
        stmt = stmt.where(Enterprise.street_id == street_id)
    if sector_ids:
        stmt = stmt.where(Enterprise.sector_id.in_(sector_ids))
    rows = db.session.execute(stmt).all()
    questions = {q.id: q for q in db.session.scalars(select(Question).options(selectinload(Question.bank))
                                                     .where(Question.id.in_([r[0] for r in rows])))}
    return [WeakQuestion(qid, questions[qid].stem, questions[qid].bank.name, int(n), int(ok or 0))
            for qid, n, ok in rows if qid in questions]
