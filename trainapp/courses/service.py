"""Course rules: who sees what, enrolment, server-measured progress, hours, and the archive records.

Progress comes from heartbeats the lesson page sends every BEAT seconds while it is visible and the
learner has been active within the course's idle window. The server counts only the time between
two beats that arrive close enough together (a gap means the page was hidden, idle or closed), so a
page left open overnight earns nothing, and a lesson completes only after its minimum time.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from trainapp.courses.models import Course, Enrolment, Lesson, LessonProgress, TrainingRecord
from trainapp.extensions import db
from trainapp.models import utcnow

BEAT = 15  # seconds between heartbeats from the page (config COURSE_BEAT_SECONDS overrides it)
SLICE = 5  # video seconds per watched slice
VIDEO_DONE = 0.9
MANAGE_ROLES = ("admin", "trainer", "manager")


def beat_seconds() -> int:
    from flask import current_app, has_app_context

    return int(current_app.config.get("COURSE_BEAT_SECONDS", BEAT)) if has_app_context() else BEAT


def max_gap() -> int:
    """Beats further apart than this count nothing: the page was hidden, idle or closed in between."""
    return 2 * beat_seconds() + 5


def today() -> dt.date:
    from trainapp.certificates.service import today as shanghai_today

    return shanghai_today()


# --- who sees what ---------------------------------------------------------------

def meant_for(course: Course, person) -> bool:
    """Published, and the course's audiences and sectors include the person (empty means everyone)."""
    from trainapp.exams.service import targets

    return course.status == "published" and targets(course.audiences, course.sectors, person)


def may_manage(user, course: Course) -> bool:
    if user.has_role("admin"):
        return True
    return user.has_role("trainer", "manager") and course.owner_id is not None and course.owner_id == user.id


# --- enrolment -----------------------------------------------------------------------

def enrol(person, course: Course, source: str = "self", by=None, due_on: dt.date | None = None) -> Enrolment:
    """Enrol (or re-activate a withdrawn enrolment); an existing assignment keeps the earlier due date."""
    existing = db.session.scalar(select(Enrolment).where(Enrolment.course_id == course.id,
                                                         Enrolment.person_id == person.id))
    if existing is not None:
        if existing.status == "withdrawn":
            existing.status, existing.source = "active", source
            existing.assigned_by_id = by.id if by else None
        if due_on and (existing.due_on is None or due_on < existing.due_on) and existing.status != "completed":
            existing.due_on = due_on
        return existing
    enrolment = Enrolment(course_id=course.id, person_id=person.id, source=source,
                          assigned_by_id=by.id if by else None, due_on=due_on, status="active")
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def withdraw(enrolment: Enrolment) -> None:
    if enrolment.status == "active":
        enrolment.status = "withdrawn"


# --- progress --------------------------------------------------------------------------

def progress_for(enrolment: Enrolment, lesson: Lesson) -> LessonProgress:
    progress = db.session.scalar(select(LessonProgress).where(LessonProgress.enrolment_id == enrolment.id,
                                                              LessonProgress.lesson_id == lesson.id))
    if progress is None:
        progress = LessonProgress(enrolment_id=enrolment.id, lesson_id=lesson.id, active_seconds=0, watched="",
                                  reached_end=False)
        db.session.add(progress)
        db.session.flush()
    return progress


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _slices(lesson: Lesson) -> int:
    return max(1, -(-(lesson.video_seconds or 0) // SLICE))


def watched_fraction(progress: LessonProgress, lesson: Lesson) -> float:
    if not lesson.video_seconds:
        return 0.0
    return progress.watched.count("1") / _slices(lesson)


def beat(enrolment: Enrolment, lesson: Lesson, *, at_end: bool = False, played: list[int] | None = None,
         now: dt.datetime | None = None) -> LessonProgress:
    """Record one heartbeat; returns the progress (completed_at set when the lesson is done).

    `played`: video positions in seconds the page saw playing since the last beat. At most as many
    new slices as the time since the last beat allows are accepted (nobody watches faster than
    real time).
    """
    now = now or utcnow()
    progress = progress_for(enrolment, lesson)
    last = _aware(progress.last_beat_at)
    gap = (now - last).total_seconds() if last else None
    counted = int(gap) if gap is not None and 0 < gap <= max_gap() else 0
    progress.active_seconds += counted
    progress.last_beat_at = now
    if lesson.kind == "video" and lesson.video_seconds and played:
        marks = list(progress.watched.ljust(_slices(lesson), "0"))
        allowance = counted // SLICE + 1
        for position in sorted(set(int(p) // SLICE for p in played if isinstance(p, (int, float)))):
            if allowance <= 0:
                break
            if 0 <= position < len(marks) and marks[position] == "0":
                marks[position] = "1"
                allowance -= 1
        progress.watched = "".join(marks)
    if at_end and counted:
        progress.reached_end = True
    if progress.completed_at is None and _lesson_done(progress, lesson):
        _complete_lesson(enrolment, lesson, progress, now)
    return progress


def _lesson_done(progress: LessonProgress, lesson: Lesson) -> bool:
    if progress.active_seconds < lesson.min_seconds:
        return False
    if lesson.kind == "video" and lesson.video_seconds:
        return watched_fraction(progress, lesson) >= VIDEO_DONE
    return progress.reached_end


def _complete_lesson(enrolment: Enrolment, lesson: Lesson, progress: LessonProgress, now: dt.datetime) -> None:
    progress.completed_at = now
    person = enrolment.person
    db.session.add(TrainingRecord(
        person_id=person.id, enterprise_id=person.enterprise_id, kind="lesson", title=lesson.title,
        content=enrolment.course.title, hours=lesson.hours, occurred_on=today(), course_id=enrolment.course_id,
        lesson_id=lesson.id, result="完成"))
    db.session.flush()
    check_course_complete(enrolment, now)


def lessons_done(enrolment: Enrolment) -> int:
    return db.session.scalar(select(func.count(LessonProgress.id)).where(
        LessonProgress.enrolment_id == enrolment.id, LessonProgress.completed_at.is_not(None))) or 0


def exam_passed(enrolment: Enrolment) -> bool:
    from trainapp.exams.models import Attempt

    course = enrolment.course
    if course.exam_id is None:
        return True
    return db.session.scalar(select(Attempt.id).where(
        Attempt.exam_id == course.exam_id, Attempt.passed.is_(True),
        Attempt.person_id == enrolment.person_id).limit(1)) is not None


def check_course_complete(enrolment: Enrolment, now: dt.datetime | None = None) -> bool:
    """All lessons done and the course's exam passed: the enrolment is completed (once)."""
    if enrolment.status == "completed":
        return True
    if lessons_done(enrolment) < len(enrolment.course.lessons) or not exam_passed(enrolment):
        return False
    enrolment.status = "completed"
    enrolment.completed_at = now or utcnow()
    person = enrolment.person
    db.session.add(TrainingRecord(
        person_id=person.id, enterprise_id=person.enterprise_id, kind="course", title=enrolment.course.title,
        content="", hours=0.0, occurred_on=today(), course_id=enrolment.course_id, result="课程完成"))
    return True


def on_exam_submitted(attempt) -> None:
    """Exams feed the archive, and a pass may complete the courses that end with that exam."""
    if attempt.person_id is None:
        return
    from trainapp.certificates.models import Certificate

    person = attempt.person
    cert_id = db.session.scalar(select(Certificate.id).where(Certificate.attempt_id == attempt.id))
    db.session.add(TrainingRecord(
        person_id=person.id, enterprise_id=person.enterprise_id, kind="exam", title=attempt.exam.title,
        content="", hours=0.0, occurred_on=today(), attempt_id=attempt.id, certificate_id=cert_id,
        result=f"{attempt.score or 0:g}/{attempt.max_score:g} {'合格' if attempt.passed else '不合格'}"))
    if attempt.passed:
        for enrolment in db.session.scalars(select(Enrolment).join(Course).where(
                Course.exam_id == attempt.exam_id, Enrolment.person_id == person.id, Enrolment.status == "active")):
            check_course_complete(enrolment)


def current_records():
    """Records that no later correction replaces (the archive as it stands)."""
    corrected = select(TrainingRecord.corrects_id).where(TrainingRecord.corrects_id.is_not(None))
    return select(TrainingRecord).where(TrainingRecord.id.not_in(corrected))


def hours_in_year(person_id: int, year: int) -> float:
    """学时 accrued in a calendar year, counting each corrected record by its correction only."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    corrected = select(TrainingRecord.corrects_id).where(TrainingRecord.corrects_id.is_not(None))
    return float(db.session.scalar(select(func.coalesce(func.sum(TrainingRecord.hours), 0.0)).where(
        TrainingRecord.person_id == person_id, TrainingRecord.occurred_on.between(start, end),
        TrainingRecord.id.not_in(corrected))) or 0.0)


def correct(record: TrainingRecord, by, reason: str, **changes) -> TrainingRecord:
    """A new record replacing `record` (which stays, unchanged, in the history); audited."""
    from trainapp.audit import record as audit

    fields = ("person_id", "enterprise_id", "kind", "title", "content", "hours", "occurred_on", "teacher", "result",
              "course_id", "lesson_id", "session_id", "attempt_id", "certificate_id")
    values = {f: getattr(record, f) for f in fields}
    values.update(changes)
    fixed = TrainingRecord(**values, corrects_id=record.id, created_by_id=by.id if by else None)
    db.session.add(fixed)
    db.session.flush()
    audit("correct", fixed, summary=f"{record.title}: {reason[:200]}", corrects=record.id, reason=reason,
          changes={k: str(v) for k, v in changes.items()})
    return fixed
