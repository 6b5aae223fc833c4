"""Learners: course catalogue, my courses (assigned and due first), lessons with server-measured progress."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from trainapp.courses import service
from trainapp.courses.models import Course, Enrolment, Lesson, LessonProgress
from trainapp.extensions import db, limiter
from trainapp.files import StoredFile

bp = Blueprint("courses", __name__, url_prefix="/courses")
MAX_BEAT_BYTES = 4096


def _person():
    if current_user.person is None:
        abort(404)
    return current_user.person


def my_enrolments(person_id: int) -> list[Enrolment]:
    """Active assignments with a due date first (soonest first), then other active, then completed."""
    rows = db.session.scalars(select(Enrolment).where(Enrolment.person_id == person_id,
                                                      Enrolment.status != "withdrawn")).all()
    far = dt.date.max
    return sorted(rows, key=lambda e: (e.status == "completed", e.due_on is None, e.due_on or far,
                                       -(e.enrolled_at.timestamp() if e.enrolled_at else 0)))


def _summary(enrolment: Enrolment) -> dict:
    done = service.lessons_done(enrolment)
    hours = db.session.scalar(select(db.func.coalesce(db.func.sum(Lesson.hours), 0.0)).join(
        LessonProgress, LessonProgress.lesson_id == Lesson.id).where(
        LessonProgress.enrolment_id == enrolment.id, LessonProgress.completed_at.is_not(None)))
    overdue = enrolment.status == "active" and enrolment.due_on is not None and enrolment.due_on < service.today()
    return {"done": done, "total": len(enrolment.course.lessons), "hours": float(hours or 0), "overdue": overdue}


def _summaries(enrolments: list[Enrolment]) -> dict[int, dict]:
    """_summary for many enrolments in two grouped queries."""
    from sqlalchemy import func

    ids = [e.id for e in enrolments]
    done = {row[0]: (row[1], float(row[2] or 0)) for row in db.session.execute(
        select(LessonProgress.enrolment_id, func.count(LessonProgress.id), func.sum(Lesson.hours))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.enrolment_id.in_(ids), LessonProgress.completed_at.is_not(None))
        .group_by(LessonProgress.enrolment_id))} if ids else {}
    totals = dict(db.session.execute(select(Lesson.course_id, func.count(Lesson.id)).where(
        Lesson.course_id.in_({e.course_id for e in enrolments})).group_by(Lesson.course_id)).all()) if ids else {}
    today = service.today()
    return {e.id: {"done": done.get(e.id, (0, 0.0))[0], "total": totals.get(e.course_id, 0),
                   "hours": done.get(e.id, (0, 0.0))[1],
                   "overdue": e.status == "active" and e.due_on is not None and e.due_on < today}
            for e in enrolments}


@bp.route("/")
@login_required
def index():
    person = _person()
    enrolments = my_enrolments(person.id)
    enrolled = {e.course_id for e in enrolments}
    catalogue = [c for c in db.session.scalars(select(Course).where(Course.status == "published")
                                               .order_by(Course.id)) if service.meant_for(c, person)]
    return render_template("courses/index.html", enrolments=enrolments, summaries=_summaries(enrolments),
                           catalogue=[c for c in catalogue if c.id not in enrolled], form=FlaskForm(),
                           year_hours=service.hours_in_year(person.id, service.today().year))


def _course_for(course_id: int) -> tuple[Course, Enrolment | None]:
    person = _person()
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.course_id == course.id,
                                                          Enrolment.person_id == person.id))
    if enrolment is None or enrolment.status == "withdrawn":
        if not service.meant_for(course, person):
            abort(404)
        enrolment = None
    return course, enrolment


@bp.route("/<int:course_id>/enrol", methods=["POST"])
@login_required
def enrol(course_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    course, enrolment = _course_for(course_id)
    if enrolment is None:
        service.enrol(_person(), course, source="self")
        db.session.commit()
        flash(_("已报名《%(title)s》", title=course.title), "success")
    return redirect(url_for("courses.course", course_id=course.id))


@bp.route("/<int:course_id>")
@login_required
def course(course_id: int):
    course, enrolment = _course_for(course_id)
    progress = {}
    if enrolment is not None:
        progress = {p.lesson_id: p for p in db.session.scalars(select(LessonProgress).where(
            LessonProgress.enrolment_id == enrolment.id))}
    summary = _summary(enrolment) if enrolment else None
    exam_ready = bool(enrolment and summary and summary["done"] == summary["total"])
    return render_template("courses/course.html", course=course, enrolment=enrolment, progress=progress,
                           summary=summary, exam_ready=exam_ready, form=FlaskForm(),
                           exam_passed=bool(enrolment and service.exam_passed(enrolment)))


def _lesson_for(course_id: int, lesson_id: int) -> tuple[Course, Enrolment, Lesson]:
    course, enrolment = _course_for(course_id)
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.course_id != course.id:
        abort(404)
    if enrolment is None:
        flash(_("请先报名本课程"), "info")
        abort(redirect(url_for("courses.course", course_id=course.id)))
    return course, enrolment, lesson


@bp.route("/<int:course_id>/lessons/<int:lesson_id>")
@login_required
def lesson(course_id: int, lesson_id: int):
    course, enrolment, lesson = _lesson_for(course_id, lesson_id)
    progress = service.progress_for(enrolment, lesson)
    db.session.commit()
    lessons = course.lessons
    index = lessons.index(lesson)
    page = render_template("courses/lesson.html", course=course, lesson=lesson, progress=progress,
                           previous=lessons[index - 1] if index else None,
                           following=lessons[index + 1] if index + 1 < len(lessons) else None,
                           beat=service.beat_seconds(), idle=course.idle_minutes * 60,
                           watched=service.watched_fraction(progress, lesson))
    response = make_response(page)
    if lesson.kind == "video" and lesson.video_url:
        # A linked video plays from its own site; nothing else on the page may load from outside.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "media-src 'self' https:; frame-ancestors 'none'")
    return response


@bp.route("/<int:course_id>/lessons/<int:lesson_id>/beat", methods=["POST"])
@login_required
@limiter.limit("30/minute", key_func=lambda: f"user:{current_user.get_id()}")
def beat(course_id: int, lesson_id: int):
    """A heartbeat from a visible, recently used lesson page: {"at_end": bool, "played": [seconds…]}."""
    if (request.content_length or 0) > MAX_BEAT_BYTES:
        abort(413)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(ok=False), 400
    played = payload.get("played") or []
    if not isinstance(played, list) or len(played) > 200:
        return jsonify(ok=False), 400
    course, enrolment, lesson = _lesson_for(course_id, lesson_id)
    if enrolment.status == "withdrawn":
        abort(404)
    progress = service.beat(enrolment, lesson, at_end=bool(payload.get("at_end")),
                            played=[p for p in played if isinstance(p, (int, float)) and not isinstance(p, bool)])
    db.session.commit()
    return jsonify(ok=True, active_seconds=progress.active_seconds, min_seconds=lesson.min_seconds,
                   completed=progress.completed_at is not None, reached_end=progress.reached_end,
                   watched=round(service.watched_fraction(progress, lesson), 3))


@bp.route("/<int:course_id>/lessons/<int:lesson_id>/document.pdf")
@login_required
def document(course_id: int, lesson_id: int):
    """The lesson's PDF, shown inside the lesson page (so it may be framed by this site only)."""
    _course, _enrolment, lesson = _lesson_for(course_id, lesson_id)
    stored = db.session.get(StoredFile, lesson.file_id) if lesson.file_id else None
    if stored is None:
        abort(404)
    from flask import Response

    response = Response(stored.data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response
