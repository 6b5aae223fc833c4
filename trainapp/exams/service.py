"""Exam rules in one place: who may take what, drawing and freezing papers, saving answers, grading.

Times come from the server's clock only. Every state change of an attempt that could race
(two tabs, a double-tapped submit button, the sweeper) is a conditional UPDATE, so it happens once.
"""
from __future__ import annotations

import datetime as dt
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, exists, false, func, insert, inspect, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from trainapp.auth.models import User
from trainapp.extensions import db
from trainapp.models import utcnow
from trainapp.org.models import Enterprise, Sector
from trainapp.exams.models import Attempt, AttemptEvent, AttemptItem, Exam, ExamPart, _aware
from trainapp.questionbank.models import Question, QuestionVersion, freeze_many
from trainapp.questionbank.qtypes import LETTERS, REGISTRY

# Answers that arrive this long after the deadline still count (the request was on its way).
SAVE_GRACE = dt.timedelta(seconds=5)
# Attempts left open this long past their deadline are submitted by the sweeper.
SWEEP_AFTER = dt.timedelta(seconds=30)
MANAGE_ROLES = ("admin", "trainer", "manager")


class ExamError(Exception):
    """A rule says no; the message is for the user."""


# --- who may do what ------------------------------------------------------------

def may_manage(user, exam: Exam) -> bool:
    """Admins manage every exam; trainers and managers the exams they created."""
    if user.has_role("admin"):
        return True
    return user.has_role("trainer", "manager") and exam.owner_id == user.id


def _sector_family_ids(sectors: list[Sector]) -> set[int]:
    ids = {s.id for s in sectors}
    if ids:
        ids.update(db.session.scalars(select(Sector.id).where(Sector.parent_id.in_(ids))))
    return ids


def targets(audiences: list, sectors: list[Sector], person) -> bool:
    """Whether audiences and sectors (sub-sectors included; empty lists mean everyone) include the person."""
    if person is None:
        return False
    if audiences and person.audience not in audiences:
        return False
    if sectors:
        sector_id = db.session.scalar(select(Enterprise.sector_id).where(Enterprise.id == person.enterprise_id)) \
            if person.enterprise_id else None
        if sector_id not in _sector_family_ids(sectors):
            return False
    return True


def meant_for(exam: Exam, person) -> bool:
    """Whether the exam's audiences and sectors include this person."""
    return targets(exam.audiences, exam.sectors, person)


def available_exams(user, now: dt.datetime | None = None) -> list[Exam]:
    """Published exams open now that are meant for the user."""
    now = now or utcnow()
    if user.person is None:
        return []
    exams = db.session.scalars(select(Exam).where(Exam.status == "published").order_by(Exam.closes_at, Exam.id))
    return [e for e in exams if e.is_open(now) and meant_for(e, user.person)]


def submitted_attempts(user_id: int, exam_id: int) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(
        Attempt.user_id == user_id, Attempt.exam_id == exam_id, Attempt.status == "submitted")
        .order_by(Attempt.number)))


def attempts_of(user_id: int, exam_id: int) -> list[Attempt]:
    """All the user's attempts at the exam, by number: the submitted ones and the open one in one query."""
    return list(db.session.scalars(select(Attempt).where(Attempt.user_id == user_id, Attempt.exam_id == exam_id)
                                   .order_by(Attempt.number)))


def open_attempt(user_id: int, exam_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(
        Attempt.user_id == user_id, Attempt.exam_id == exam_id, Attempt.status == "open"))


def start_refusal(user, exam: Exam, now: dt.datetime | None = None,
                  done: list[Attempt] | None = None) -> str | None:
    """Why the user may not start a new attempt now, or None when they may.

    `done`: the user's submitted_attempts() for the exam, when the caller has them already.
    """
    now = now or utcnow()
    if user.person is None:
        return _("请先完善个人信息")
    if not exam.is_open(now):
        return _("考试不在开放时间内")
    if not meant_for(exam, user.person):
        return _("该考试不面向您所属的人员类别或行业")
    if done is None:
        done = submitted_attempts(user.id, exam.id)
    if exam.max_attempts and len(done) >= exam.max_attempts:
        return _("已用完 %(n)d 次考试机会", n=exam.max_attempts)
    if done and exam.retry_wait_minutes:
        last = done[-1].submitted_at
        last = last.replace(tzinfo=dt.timezone.utc) if last.tzinfo is None else last
        ready = last + dt.timedelta(minutes=exam.retry_wait_minutes)
        if now < ready:
            minutes = int((ready - now).total_seconds() // 60) + 1
            return _("请在 %(m)d 分钟后再次参加考试", m=minutes)
    return None


# --- drawing a paper --------------------------------------------------------------

def part_candidates(part: ExamPart):
    stmt = select(Question.id).where(Question.bank_id == part.bank_id, Question.status == "active",
                                     Question.qtype == part.qtype)
    if part.tag:
        stmt = stmt.where(Question.tags.contains(f",{part.tag},", autoescape=True))
    if part.difficulty:
        stmt = stmt.where(Question.difficulty == part.difficulty)
    return stmt


def _specific_first(parts: list[ExamPart]) -> list[ExamPart]:
    """Draw narrow parts (with a tag or difficulty) before broad ones from the same bank."""
    return sorted(parts, key=lambda p: (not p.tag and not p.difficulty, p.position))


def describe_part(part: ExamPart, number: int) -> str:
    bits = [part.bank.name if part.bank else str(part.bank_id), str(REGISTRY[part.qtype].label)]
    if part.tag:
        bits.append(_("标签 %(tag)s", tag=part.tag))
    if part.difficulty:
        bits.append(_("难度 %(d)d", d=part.difficulty))
    return _("第 %(n)d 部分（%(what)s）", n=number, what="，".join(bits))


def blueprint_shortfalls(exam: Exam) -> list[str]:
    """Messages naming each part of the blueprint the banks cannot fill (empty when it can be drawn)."""
    problems: list[str] = []
    if exam.fixed_paper:
        active = db.session.scalar(select(func.count(Question.id)).where(
            Question.id.in_([f.question_id for f in exam.fixed_questions]), Question.status == "active"))
        if not exam.fixed_questions:
            problems.append(_("固定试卷还没有题目"))
        elif active < len(exam.fixed_questions):
            problems.append(_("固定试卷中有 %(n)d 道题已停用", n=len(exam.fixed_questions) - active))
        return problems
    if not exam.parts:
        return [_("组卷规则至少要有一部分")]
    taken: set[int] = set()
    numbers = {id(p): i for i, p in enumerate(exam.parts, 1)}
    for part in _specific_first(list(exam.parts)):
        pool = set(db.session.scalars(part_candidates(part)))
        free = pool - taken
        if len(free) < part.count:
            problems.append(_("%(part)s需要 %(want)d 题，只有 %(have)d 题可用", part=describe_part(part, numbers[id(part)]),
                              want=part.count, have=len(free)))
        taken.update(sorted(free)[: part.count])
    return problems


def _draw_ids(exam: Exam, rng: random.Random) -> list[int]:
    """The ids of a new paper's questions, in the order they will be shown."""
    if exam.fixed_paper:
        ids = [f.question_id for f in exam.fixed_questions]
        active = set(db.session.scalars(select(Question.id).where(Question.id.in_(ids), Question.status == "active")))
        chosen = [i for i in ids if i in active]
        if not chosen:
            raise ExamError(_("试卷没有可用的题目，请联系出题人"))
    else:
        picked: dict[int, list[int]] = {}
        taken: set[int] = set()
        for part in _specific_first(list(exam.parts)):
            pool = sorted(set(db.session.scalars(part_candidates(part))) - taken)
            if len(pool) < part.count:
                raise ExamError(_("题库中的题目不足以组卷，请联系出题人"))
            ids = rng.sample(pool, part.count)
            picked[part.id] = ids
            taken.update(ids)
        chosen = [i for part in exam.parts for i in picked[part.id]]  # blueprint order: single, multiple, …
    if exam.shuffle_questions:
        rng.shuffle(chosen)
    return chosen


def draw_questions(exam: Exam, rng: random.Random) -> list[Question]:
    """The questions of a new paper, in the order they will be shown."""
    ids = _draw_ids(exam, rng)
    by_id = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [by_id[i] for i in ids]


def _paper_questions(ids: list[int]) -> dict[int, tuple[str, int, int]]:
    """Question id -> (type, number of options, id of its frozen current version), freezing what is not yet.

    One query in the usual case (every question used before); the rest go through freeze_many.
    """
    rows = db.session.execute(
        select(Question.id, Question.qtype, Question.options, QuestionVersion.id)
        .outerjoin(QuestionVersion, and_(QuestionVersion.question_id == Question.id,
                                         QuestionVersion.version == Question.version))
        .where(Question.id.in_(ids))).all()
    found = {qid: (qtype, len(options or []), version_id) for qid, qtype, options, version_id in rows}
    missing = [qid for qid, (_, _, version_id) in found.items() if version_id is None]
    if missing:
        # Safe when a concurrent start freezes some of the same questions first (see freeze_many).
        frozen = freeze_many(list(db.session.scalars(select(Question).where(Question.id.in_(missing)))))
        for qid, version in frozen.items():
            found[qid] = (found[qid][0], found[qid][1], version.id)
    return found


def start_attempt(user, exam: Exam, now: dt.datetime | None = None, rng: random.Random | None = None) -> Attempt:
    """Resume the user's open attempt, or draw, freeze and start a new one. Raises ExamError.

    A new attempt's items are written with one INSERT (executemany), not as ORM objects; they load
    from the database when `.items` is first read.
    """
    now = now or utcnow()
    attempts = attempts_of(user.id, exam.id)
    existing = next((a for a in attempts if a.status == "open"), None)
    if existing is not None:
        if existing.deadline_at + SAVE_GRACE < now:
            submit(existing, now, auto=True)
            db.session.commit()
            attempts = attempts_of(user.id, exam.id)
        else:
            return existing
    refusal = start_refusal(user, exam, now, done=[a for a in attempts if a.status == "submitted"])
    if refusal:
        raise ExamError(refusal)
    rng = rng or random.SystemRandom()
    ids = _draw_ids(exam, rng)
    questions = _paper_questions(ids)
    number = 1 + max((a.number for a in attempts), default=0)
    deadline = now + dt.timedelta(minutes=exam.time_limit_minutes)
    if exam.closes is not None:
        deadline = min(deadline, exam.closes)
    items = []
    total = 0.0
    for position, qid in enumerate(ids, 1):
        qtype, n, version_id = questions[qid]
        order = list(range(n))
        if exam.shuffle_options and REGISTRY[qtype].has_options:
            rng.shuffle(order)
        points = exam.points_for(qtype)
        total += points
        items.append({"position": position, "version_id": version_id, "option_order": order, "points": points,
                      "response": ""})
    attempt = Attempt(exam_id=exam.id, user_id=user.id, person_id=user.person_id, number=number, status="open",
                      started_at=now, deadline=deadline, leave_count=0, max_score=total)
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError:  # another request started one a moment ago: use that one
        db.session.rollback()
        existing = open_attempt(user.id, exam.id)
        if existing is None:
            raise
        return existing
    db.session.execute(insert(AttemptItem.__table__), [{"attempt_id": attempt.id, **item} for item in items])
    db.session.commit()
    return attempt


# --- answering ------------------------------------------------------------------

@dataclass
class ShownQuestion:
    """A paper question as the learner sees it: no key, options in the attempt's order."""
    position: int
    qtype: str
    stem: str
    options: list[str]
    image_id: int | None
    chosen: str  # in displayed letters


def to_displayed(item: AttemptItem, stored_letters: str) -> str:
    """Stored-question letters -> the letters the learner saw."""
    return _displayed_letters(item.version.qtype, item.option_order, stored_letters)


def _displayed_letters(qtype: str, option_order: list[int], stored_letters: str) -> str:
    """to_displayed() from the two things it needs."""
    if qtype == "truefalse":
        return stored_letters
    where = {orig: shown for shown, orig in enumerate(option_order)}
    return "".join(sorted(LETTERS[where[LETTERS.index(ch)]] for ch in stored_letters if ch in LETTERS
                          and LETTERS.index(ch) in where))


def _with_versions(items: list[AttemptItem]) -> list[AttemptItem]:
    """Load the frozen versions of a paper's items in one query instead of one lazy load per item."""
    missing = [i for i in items if "version" in inspect(i).unloaded]
    if missing:
        by_id = {v.id: v for v in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_({i.version_id for i in missing})))}
        for item in missing:
            set_committed_value(item, "version", by_id.get(item.version_id))
    return items


def _items_with_versions(attempt: Attempt) -> list[AttemptItem]:
    """attempt.items with their frozen versions: one query (a join) when the items are not loaded yet."""
    if "items" not in inspect(attempt).unloaded:
        return _with_versions(attempt.items)
    items = list(db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
                                    .options(joinedload(AttemptItem.version)).order_by(AttemptItem.position)))
    set_committed_value(attempt, "items", items)
    return items


def shown_paper(attempt: Attempt) -> list[ShownQuestion]:
    """The paper as the learner sees it, read as plain rows (items with their frozen versions, one query).

    Also keeps what saving its answers needs (see fast_save_answer), so those that follow the page
    are saved with one statement each.
    """
    rows = db.session.execute(
        select(AttemptItem.position, AttemptItem.option_order, AttemptItem.response, QuestionVersion.qtype,
               QuestionVersion.stem, QuestionVersion.options, QuestionVersion.image_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.version_id)
        .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)).all()
    paper = []
    for position, order, response, qtype, stem, options, image_id in rows:
        paper.append(ShownQuestion(position, qtype, stem, [options[i] for i in order] if options else [], image_id,
                                   _displayed_letters(qtype, order, response or "")))
    _remember(attempt.id, attempt.started_at, [(r[0], r[3], r[1]) for r in rows])
    return paper


def _stored_response(item: AttemptItem, raw: str) -> str:
    """Validate a response in displayed letters and map it to the stored question's letters."""
    return _stored_letters(item.version.qtype, item.option_order, raw)


def _stored_letters(qtype: str, option_order: list[int], raw: str) -> str:
    """_stored_response() from the two things it needs, so a caller need not load the item and its version."""
    raw = (raw or "").strip().upper()
    if raw == "":
        return ""
    if qtype == "truefalse":
        if raw not in ("T", "F"):
            raise ExamError(_("无效的答案"))
        return raw
    n = len(option_order)
    if len(raw) > n or not all(ch in LETTERS[:n] for ch in raw) or len(set(raw)) != len(raw):
        raise ExamError(_("无效的答案"))
    if qtype == "single" and len(raw) != 1:
        raise ExamError(_("单选题只能选一个答案"))
    return "".join(sorted(LETTERS[option_order[LETTERS.index(ch)]] for ch in raw))


def _refuse_if_closed(status: str, deadline_at: dt.datetime, now: dt.datetime) -> None:
    if status != "open":
        raise ExamError(_("本次考试已交卷"))
    if now > deadline_at + SAVE_GRACE:
        raise ExamError(_("考试时间已到，答案未保存"))


def save_answer(attempt: Attempt, position: int, raw: str, now: dt.datetime | None = None) -> AttemptItem:
    """Store one answer; refuses closed attempts, late answers, unknown questions and options.

    For code that holds the attempt in the session (and wants its items updated there); the
    answer endpoint uses fast_save_answer(), and answer_target() + store_answer() for whatever
    that did not save, which do the same with less work.
    """
    now = now or utcnow()
    _refuse_if_closed(attempt.status, attempt.deadline_at, now)
    item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt.id,
                                                       AttemptItem.position == position)
                             .options(joinedload(AttemptItem.version)))  # one query, not two
    if item is None:
        raise ExamError(_("试卷中没有这道题"))
    item.response = _stored_response(item, raw)
    item.answered_at = now
    return item


# Positions are small; anything outside a 32-bit integer cannot be on a paper (and would overflow
# the database driver's integer parameter), so it is looked up as "no such question".
_MAX_POSITION = 2**31 - 1


@dataclass
class AnswerTarget:
    """What saving one answer needs, read in one query: the attempt's state and the item at the position."""
    status: str
    deadline_at: dt.datetime
    item_id: int | None  # None: no question at that position
    option_order: list[int] | None
    qtype: str | None


def answer_target(attempt_id: int, user_id: int, position: int | None) -> AnswerTarget | None:
    """The user's attempt and its item at `position` in one statement; None if the attempt is not theirs.

    The item (with its frozen version's type) is outer-joined, so an owned attempt is found even when
    the position is absent or None (the caller then refuses the request, as it would anyway).
    """
    on_position = AttemptItem.position == position if position is not None and 0 < position <= _MAX_POSITION \
        else false()
    row = db.session.execute(
        select(Attempt.status, Attempt.deadline, AttemptItem.id, AttemptItem.option_order, QuestionVersion.qtype)
        .select_from(Attempt)
        .outerjoin(AttemptItem, and_(AttemptItem.attempt_id == Attempt.id, on_position))
        .outerjoin(QuestionVersion, QuestionVersion.id == AttemptItem.version_id)
        .where(Attempt.id == attempt_id, Attempt.user_id == user_id)).first()
    if row is None:
        return None
    return AnswerTarget(row[0], _aware(row[1]), row[2], row[3], row[4])


def store_answer(target: AnswerTarget, raw: str, now: dt.datetime | None = None) -> None:
    """save_answer() for an answer_target(): the same rules, written with one UPDATE (no ORM objects)."""
    now = now or utcnow()
    _refuse_if_closed(target.status, target.deadline_at, now)
    if target.item_id is None:
        raise ExamError(_("试卷中没有这道题"))
    stored = _stored_letters(target.qtype, target.option_order, raw)
    db.session.execute(update(AttemptItem.__table__).where(AttemptItem.__table__.c.id == target.item_id)
                       .values(response=stored, answered_at=now))


# --- saving an answer in one statement -----------------------------------------------------
#
# An answer is mapped from the letters the learner saw to the stored question's letters with the
# item's option order and question type, both frozen when the attempt started. They are kept per
# attempt in each process (a few hundred bytes an attempt), so that a save is one UPDATE that also
# proves everything else: the account is the one the session was signed in with and still valid,
# the attempt is that account's, open and before its deadline (with the grace), and it is the same
# attempt the paper was read from (its start time: with SQLite, a deleted attempt's id can be
# reused). Whatever that statement does not save is decided by the full path (answer_target and
# store_answer), which gives every refusal exactly as before.

_PAPER_CACHE_SIZE = 4096
_papers: OrderedDict[int, tuple] = OrderedDict()  # attempt id -> (started_at as stored, specs by position)
_papers_lock = threading.Lock()
_specs: dict[tuple, tuple] = {}  # shared (qtype, option order) pairs: few distinct ones across papers

_item_t, _attempt_t, _version_t = AttemptItem.__table__, Attempt.__table__, QuestionVersion.__table__
_user_t = User.__table__
_PAPER_SPEC = (select(_attempt_t.c.started_at, _item_t.c.position, _version_t.c.qtype, _item_t.c.option_order)
               .select_from(_item_t.join(_attempt_t, _attempt_t.c.id == _item_t.c.attempt_id)
                            .join(_version_t, _version_t.c.id == _item_t.c.version_id))
               .where(_item_t.c.attempt_id == bindparam("aid"), _attempt_t.c.user_id == bindparam("uid")))
_FAST_SAVE = (update(_item_t)
              .where(_item_t.c.attempt_id == bindparam("aid"), _item_t.c.position == bindparam("pos"),
                     exists().where(_attempt_t.c.id == bindparam("aid"), _attempt_t.c.user_id == bindparam("uid"),
                                    _attempt_t.c.status == "open", _attempt_t.c.deadline >= bindparam("cutoff"),
                                    _attempt_t.c.started_at == bindparam("started"),
                                    _user_t.c.id == _attempt_t.c.user_id, _user_t.c.session_version == bindparam("ver"),
                                    _user_t.c.is_active_account == true(), _user_t.c.person_id.is_not(None)))
              .values(response=bindparam("stored"), answered_at=bindparam("now")))


def _spec(qtype: str, option_order) -> tuple:
    key = (qtype, tuple(option_order or ()))
    return _specs.setdefault(key, key)


def _remember(attempt_id: int, started_at, rows) -> tuple:
    """Cache a paper: `rows` are (position, qtype, option_order)."""
    by_position: dict[int, tuple] = {}
    for position, qtype, option_order in rows:
        by_position[position] = _spec(qtype, option_order)
    paper = (started_at, by_position)
    with _papers_lock:
        _papers[attempt_id] = paper
        if len(_papers) > _PAPER_CACHE_SIZE:
            _papers.popitem(last=False)
    return paper


def forget_papers() -> None:
    with _papers_lock:
        _papers.clear()


def fast_save_answer(attempt_id: int, user_id: int, session_version: int, position: int, raw: str,
                     now: dt.datetime | None = None) -> bool:
    """Save and commit one answer with one UPDATE that checks account, ownership, state and deadline.

    False means nothing was written and the full path must decide (it may yet save, e.g. when the
    account's person is missing but it is an admin's own attempt). Only valid responses are
    written: one that cannot be mapped is left to the full path to refuse.
    """
    paper = cached = _papers.get(attempt_id)
    # Its own short transaction on a pooled connection, committed here: lighter than the ORM session,
    # which this request has not needed so far.
    with db.engine.begin() as conn:
        if paper is None:
            rows = conn.execute(_PAPER_SPEC, {"aid": attempt_id, "uid": user_id}).all()
            if not rows:
                return False
            paper = _remember(attempt_id, rows[0][0], [r[1:] for r in rows])
        spec = paper[1].get(position)
        if spec is None:
            return False
        try:
            stored = _stored_letters(spec[0], spec[1], raw)
        except ExamError:
            return False
        now = now or utcnow()
        saved = conn.execute(_FAST_SAVE, {
            "aid": attempt_id, "pos": position, "uid": user_id, "ver": session_version,
            "cutoff": now - SAVE_GRACE, "started": paper[0], "stored": stored, "now": now}).rowcount == 1
    if not saved and cached is not None:
        _forget(attempt_id)  # perhaps another attempt by now (a reused id): read it again next time
    return saved


def _forget(attempt_id: int) -> None:
    with _papers_lock:
        _papers.pop(attempt_id, None)


def log_event(attempt: Attempt, kind: str, now: dt.datetime | None = None) -> None:
    db.session.add(AttemptEvent(attempt_id=attempt.id, kind=kind, at=now or utcnow()))
    if kind == "leave":
        db.session.execute(update(Attempt).where(Attempt.id == attempt.id)
                           .values(leave_count=Attempt.leave_count + 1))


# --- grading -----------------------------------------------------------------------

def submit(attempt: Attempt, now: dt.datetime | None = None, auto: bool = False) -> bool:
    """Close and grade the attempt; returns False when it was already submitted (grades once)."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == "open")
        .values(status="submitted", submitted_at=now, auto_submitted=auto)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.refresh(attempt)
        return False
    db.session.refresh(attempt)
    exam = attempt.exam
    total = 0.0
    outcome: dict[int, bool] = {}
    for item in _items_with_versions(attempt):
        v = item.version
        score = REGISTRY[v.qtype].grade(v.answer, item.response or "", points=item.points,
                                        partial=exam.partial_credit)
        item.score = score
        total += score
        outcome[v.question_id] = score >= item.points - 1e-9
    attempt.score = round(total, 2)
    attempt.passed = attempt.max_score > 0 and 100.0 * total / attempt.max_score >= exam.pass_percent - 1e-9
    if attempt.passed:
        from trainapp.certificates.service import issue_for_attempt

        issue_for_attempt(attempt)
    from trainapp.courses.service import on_exam_submitted

    on_exam_submitted(attempt)
    # Last: it locks rows every concurrent submit of the same questions needs, until the commit.
    _count_in_bank_statistics(outcome)
    return True


def _count_in_bank_statistics(outcome: dict[int, bool]) -> None:
    """Feed each question's times answered / times correct (shown in the bank)."""
    right = [qid for qid, ok in outcome.items() if ok]
    wrong = [qid for qid, ok in outcome.items() if not ok]
    if outcome:
        # Concurrent submits share questions: lock their rows in one order (id) first, or two
        # submits updating overlapping rows in different orders deadlock.
        db.session.execute(select(Question.id).where(Question.id.in_(sorted(outcome)))
                           .order_by(Question.id).with_for_update())
    for ids, inc in ((right, 1), (wrong, 0)):
        if ids:
            db.session.execute(update(Question).where(Question.id.in_(ids)).values(
                times_answered=Question.times_answered + 1, times_correct=Question.times_correct + inc)
                .execution_options(synchronize_session=False))


def sweep_expired(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Submit attempts whose learners never came back before the deadline; returns how many."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Attempt.id).where(
        Attempt.status == "open", Attempt.deadline < now - SWEEP_AFTER).order_by(Attempt.deadline).limit(limit)))
    done = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if attempt is not None and submit(attempt, now, auto=True):
            done += 1
        db.session.commit()
    return done


# --- results ---------------------------------------------------------------------------

def counted_attempt(user_id: int, exam: Exam, done: list[Attempt] | None = None) -> Attempt | None:
    """The attempt that counts: the highest score or the last one, per the exam's setting.

    `done`: the user's submitted_attempts() for the exam, when the caller has them already.
    """
    if done is None:
        done = submitted_attempts(user_id, exam.id)
    if not done:
        return None
    if exam.counts == "last":
        return done[-1]
    return max(done, key=lambda a: (a.score or 0.0, -a.number))


def review_level(attempt: Attempt, now: dt.datetime | None = None) -> str:
    """What the learner may see of a submitted attempt now: 'score', 'answers' or 'full'."""
    now = now or utcnow()
    exam = attempt.exam
    if attempt.status != "submitted":
        return "none"
    if exam.review_when == "after_close" and (exam.closes is None or now < exam.closes):
        return "score"
    return exam.review_content



@dataclass
class ReviewRow:
    position: int
    qtype: str
    stem: str
    options: list[str]  # in the order the learner saw them
    chosen: str  # displayed letters
    key: str  # displayed letters (shown only at the 'full' level)
    explanation: str
    score: float
    points: float


def review_rows(attempt: Attempt) -> list[ReviewRow]:
    """The submitted paper with answers, key and scores, read as plain rows (one query)."""
    rows = []
    for position, order, response, score, points, qtype, stem, options, answer, explanation in db.session.execute(
            select(AttemptItem.position, AttemptItem.option_order, AttemptItem.response, AttemptItem.score,
                   AttemptItem.points, QuestionVersion.qtype, QuestionVersion.stem, QuestionVersion.options,
                   QuestionVersion.answer, QuestionVersion.explanation)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.version_id)
            .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)):
        rows.append(ReviewRow(position, qtype, stem, [options[i] for i in order] if options else [],
                              _displayed_letters(qtype, order, response or ""),
                              _displayed_letters(qtype, order, answer), explanation or "", score or 0.0, points))
    return rows
