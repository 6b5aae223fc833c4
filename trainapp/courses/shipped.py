"""Load the starter courses (trainapp/courses/content/) with their end-of-course exams; idempotent."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from trainapp.courses import markup
from trainapp.courses.content import CONTENT_DIR, CourseSpec, load_all
from trainapp.courses.models import Course, Lesson, LessonProgress
from trainapp.exams.models import Exam, ExamPart
from trainapp.extensions import db
from trainapp.org.models import Sector
from trainapp.questionbank.models import QuestionBank


class ShippedCourseError(Exception):
    pass


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _exam_for(spec: CourseSpec, existing: Exam | None) -> Exam:
    from trainapp.certificates.service import DEFAULT_TEMPLATE, ensure_default_template

    ensure_default_template()
    info = spec.exam
    exam = existing or Exam(status="published", owner_id=None, audiences=list(spec.audiences),
                            max_attempts=3, retry_wait_minutes=0, counts="highest", shuffle_questions=True,
                            shuffle_options=True, one_per_page=True, review_content="full",
                            review_when="immediately", points_single=4, points_multiple=6, points_truefalse=2,
                            partial_credit=False, certificate_template=DEFAULT_TEMPLATE)
    exam.title, exam.subject = info["title"], info["subject"]
    exam.time_limit_minutes, exam.pass_percent = int(info["time_limit_minutes"]), float(info["pass_percent"])
    exam.description = f"《{spec.title}》结业考试，题目从系统内置题库随机抽取。"
    if existing is None:
        for position, (qtype, key, count) in enumerate(info["parts"], 1):
            bank = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == key))
            if bank is None:
                raise ShippedCourseError(f"{spec.code}: the exam needs the shipped bank {key!r}; run "
                                         "`flask questionbank load-shipped` first")
            exam.parts.append(ExamPart(position=position, bank_id=bank.id, qtype=qtype, count=count, tag=""))
        db.session.add(exam)
    return exam


def load_shipped_courses() -> Summary:
    """Create the starter courses that are missing; bring lesson text up to date on existing ones."""
    summary = Summary()
    for spec in load_all(CONTENT_DIR):
        course = db.session.scalar(select(Course).where(Course.shipped_key == spec.code))
        is_new = course is None
        if is_new:
            course = Course(shipped_key=spec.code, status="published", owner_id=None)
            db.session.add(course)
        course.title, course.description = spec.title, spec.description
        course.audiences, course.idle_minutes = list(spec.audiences), spec.idle_minutes
        course.sectors = list(db.session.scalars(select(Sector).where(Sector.code.in_(spec.sectors)))) \
            if spec.sectors else []
        course.exam = _exam_for(spec, course.exam)
        changed = _sync_lessons(course, spec)
        if is_new:
            summary.created += 1
        elif changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    db.session.flush()
    return summary


def _sync_lessons(course: Course, spec: CourseSpec) -> bool:
    changed = False
    has_progress = course.id is not None and db.session.scalar(
        select(LessonProgress.id).join(Lesson).where(Lesson.course_id == course.id).limit(1)) is not None
    current = list(course.lessons)
    for position, item in enumerate(spec.lessons, 1):
        values = {"title": item.title, "kind": "text", "body_md": item.body, "body_html": markup.render(item.body),
                  "source": item.source, "hours": item.hours, "min_seconds": item.min_minutes * 60,
                  "position": position}
        if position <= len(current):
            lesson = current[position - 1]
            if any(getattr(lesson, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(lesson, k, v)
                changed = True
        else:
            course.lessons.append(Lesson(**values))
            changed = True
    if len(current) > len(spec.lessons) and not has_progress:
        for extra in current[len(spec.lessons):]:
            course.lessons.remove(extra)
        changed = True
    return changed
