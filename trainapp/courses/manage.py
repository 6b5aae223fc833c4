"""Trainers and managers: courses and lessons; enterprise admins and managers: assignments.

Authoring: admins manage every course (the shipped ones included), trainers and managers the courses
they created (``service.may_manage``); anyone else with an authoring role gets 403, an unknown course 404.
Lessons can be added, edited, reordered and deleted until learners have progress in the course; after
that their content can still be edited but nothing can be deleted. Text is stored as the author wrote
it (``body_md``) and as sanitised HTML (``body_html``, from ``markup.render``), never as raw HTML.

Assignments: an enterprise admin assigns a published course to departments, audience groups or named
people of their enterprise; a manager to every active person of chosen audiences in the enterprises of
their scope, optionally narrowed by street and sector. Targets are computed only from in-scope queries;
a posted person outside the scope rejects the whole request. Every assignment and withdrawal is audited.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from urllib.parse import urlparse

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from trainapp import files
from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import administered_enterprise_ids, enterprise_criterion, sector_family, street_criterion
from trainapp.courses import markup, media, service
from trainapp.courses.forms import (
    COURSE_STATUS_LABELS, ENROLMENT_STATUS_LABELS, KIND_LABELS, SOURCE_LABELS, ActionForm, AreaAssignForm,
    CourseForm, EnterpriseAssignForm, LessonForm,
)
from trainapp.courses.models import Course, Enrolment, Lesson, LessonProgress
from trainapp.extensions import csrf, db
from trainapp.formutil import opts
from trainapp.labels import AUDIENCE_LABELS
from trainapp.org.models import Department, Enterprise, Person, Sector, Street

bp = Blueprint("course_manage", __name__, url_prefix="/courses/manage")

MANAGE_ROLES = service.MANAGE_ROLES
ASSIGN_ROLES = ("admin", "manager", "enterprise_admin")
AREA_ROLES = ("admin", "manager")
PER_PAGE = 100
PREVIEW_NAMES = 30
AUDITED_IDS = 2000


# --- access ------------------------------------------------------------------------

def _course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return course


def _managed_or_403(course_id: int) -> Course:
    course = _course_or_404(course_id)
    if not service.may_manage(current_user, course):
        abort(403)
    return course


def _lesson_or_404(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        abort(404)
    return lesson


def _managed_lesson_or_403(lesson_id: int) -> Lesson:
    lesson = _lesson_or_404(lesson_id)
    if not service.may_manage(current_user, lesson.course):
        abort(403)
    return lesson


def _viewable_lesson_or_404(lesson_id: int) -> Lesson:
    """Learners see lessons of published courses; authors also those of their drafts."""
    lesson = _lesson_or_404(lesson_id)
    if lesson.course.status != "published" and not service.may_manage(current_user, lesson.course):
        abort(404)
    return lesson


def _checked(form: ActionForm | None = None) -> None:
    if not (form or ActionForm()).validate_on_submit():
        abort(400)


def _has_progress(course: Course) -> bool:
    """Whether any learner has progress in the course (then lessons may be edited but not deleted)."""
    return db.session.scalar(select(LessonProgress.id).join(Enrolment, Enrolment.id == LessonProgress.enrolment_id)
                             .where(Enrolment.course_id == course.id).limit(1)) is not None


def _lesson_has_progress(lesson: Lesson) -> bool:
    return db.session.scalar(select(LessonProgress.id).where(LessonProgress.lesson_id == lesson.id).limit(1)) \
        is not None


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def _assign_scope():
    """Criterion on Person: active or not, the enterprise staff this user may assign courses to."""
    return Person.enterprise_id.in_(select(Enterprise.id).where(enterprise_criterion(current_user, ASSIGN_ROLES)))


# --- the list ------------------------------------------------------------------------------

@bp.route("/")
@role_required(*MANAGE_ROLES, *ASSIGN_ROLES)
def index():
    mine = []
    if current_user.has_role(*MANAGE_ROLES):
        counts = (select(Enrolment.course_id, func.count(Enrolment.id).label("n"))
                  .where(Enrolment.status != "withdrawn").group_by(Enrolment.course_id).subquery())
        stmt = (select(Course, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.course_id == Course.id)
                .order_by(Course.status, Course.created_at.desc(), Course.id.desc()))
        if not current_user.has_role("admin"):
            stmt = stmt.where(Course.owner_id == current_user.id)
        mine = db.session.execute(stmt.limit(500)).all()
    assignable, units = [], []
    if current_user.has_role(*ASSIGN_ROLES):
        assignable = db.session.scalars(select(Course).where(Course.status == "published")
                                        .order_by(Course.title).limit(500)).all()
        ids = administered_enterprise_ids(current_user)
        units = db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.name)).all() \
            if ids else []
    return render_template("courses/manage/index.html", mine=mine, assignable=assignable, units=units,
                           can_author=current_user.has_role(*MANAGE_ROLES),
                           can_assign_area=current_user.has_role(*AREA_ROLES), status_labels=COURSE_STATUS_LABELS)


# --- courses ------------------------------------------------------------------------------

def _exam_choices(course: Course | None):
    from trainapp.exams import service as exam_service
    from trainapp.exams.models import Exam

    stmt = select(Exam).where(Exam.status.in_(("published", "draft"))).order_by(Exam.title)
    if not current_user.has_role("admin"):
        stmt = stmt.where(Exam.owner_id == current_user.id)
    exams = [e for e in db.session.scalars(stmt) if exam_service.may_manage(current_user, e)]
    if course is not None and course.exam is not None and course.exam not in exams:
        exams.append(course.exam)  # keep the current choice, whoever made it
    labels = {"draft": _("草稿"), "published": _("已发布"), "closed": _("已结束")}
    return opts([(0, _("无（不设结业考试）"))] + [(e.id, f"{e.title}（{labels.get(e.status, e.status)}）")
                                           for e in exams])


def _fill_course_form(form: CourseForm, course: Course | None) -> None:
    form.audiences.choices = opts(AUDIENCE_LABELS.items())
    form.sectors.choices = opts((s.id, s.display_name(_locale())) for s in db.session.scalars(
        select(Sector).order_by(Sector.id)))
    form.exam_id.choices = _exam_choices(course)
    form.status.choices = opts(COURSE_STATUS_LABELS.items())


def _course_initial(course: Course) -> dict:
    return {"title": course.title, "description": course.description, "audiences": list(course.audiences or []),
            "sectors": [s.id for s in course.sectors], "idle_minutes": course.idle_minutes,
            "exam_id": course.exam_id or 0, "status": course.status}


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def edit(course_id: int | None = None):
    course = _managed_or_403(course_id) if course_id else None
    form = CourseForm(data=_course_initial(course) if course is not None and request.method == "GET" else None)
    _fill_course_form(form, course)
    if form.validate_on_submit():
        if form.status.data == "published" and not (course is not None and course.lessons):
            form.status.errors.append(_("发布前请至少添加一节课"))
        else:
            is_new = course is None
            if is_new:
                course = Course(owner_id=current_user.id, status="draft")
                db.session.add(course)
            course.title = form.title.data.strip()
            course.description = (form.description.data or "").strip()
            course.audiences = list(form.audiences.data or [])
            course.sectors = list(db.session.scalars(select(Sector).where(Sector.id.in_(form.sectors.data or []))
                                                     .order_by(Sector.id)))
            course.idle_minutes = form.idle_minutes.data
            course.exam_id = form.exam_id.data or None
            course.status = form.status.data
            record("create" if is_new else "update", course, summary=course.title, status=course.status,
                   exam_id=course.exam_id)
            db.session.commit()
            flash(_("已保存课程"), "success")
            return redirect(url_for("course_manage.detail", course_id=course.id))
    return render_template("courses/manage/course_form.html", form=form, course=course,
                           failed=request.method == "POST")


def _enrolment_counts(course: Course, scope=None) -> dict[str, int]:
    stmt = select(Enrolment.status, func.count(Enrolment.id)).where(Enrolment.course_id == course.id)
    overdue = select(func.count(Enrolment.id)).where(Enrolment.course_id == course.id, Enrolment.status == "active",
                                                     Enrolment.due_on < service.today())
    if scope is not None:
        stmt = stmt.join(Person, Person.id == Enrolment.person_id).where(scope)
        overdue = overdue.join(Person, Person.id == Enrolment.person_id).where(scope)
    counts = {"active": 0, "completed": 0, "withdrawn": 0}
    counts.update(dict(db.session.execute(stmt.group_by(Enrolment.status)).all()))
    counts["overdue"] = db.session.scalar(overdue) or 0
    return counts


@bp.route("/<int:course_id>")
@role_required(*MANAGE_ROLES)
def detail(course_id: int):
    course = _managed_or_403(course_id)
    return render_template("courses/manage/detail.html", course=course, counts=_enrolment_counts(course),
                           has_progress=_has_progress(course), form=ActionForm(), status_labels=COURSE_STATUS_LABELS,
                           kind_labels=KIND_LABELS, duration=media.format_duration,
                           may_assign=current_user.has_role(*ASSIGN_ROLES))


@bp.route("/<int:course_id>/status", methods=["POST"])
@role_required(*MANAGE_ROLES)
def set_status(course_id: int):
    course = _managed_or_403(course_id)
    _checked()
    status = request.form.get("status", "")
    if status not in COURSE_STATUS_LABELS:
        abort(400)
    if status == "published" and not course.lessons:
        flash(_("发布前请至少添加一节课"), "danger")
    elif status != course.status:
        course.status = status
        record("publish" if status == "published" else "archive" if status == "archived" else "unpublish", course,
               summary=course.title, status=status)
        db.session.commit()
        flash({"published": _("课程已发布"), "archived": _("课程已停用，学员不能再开始学习"),
               "draft": _("课程已改为草稿")}[status], "success")
    return redirect(url_for("course_manage.detail", course_id=course.id))


# --- lessons ------------------------------------------------------------------------------

def _lesson_initial(lesson: Lesson) -> dict:
    return {"title": lesson.title, "kind": lesson.kind, "hours": lesson.hours,
            "min_minutes": max(1, round((lesson.min_seconds or 0) / 60)), "source": lesson.source,
            "body_md": lesson.body_md, "video_url": lesson.video_url or "",
            "video_length": media.format_duration(lesson.video_seconds)}


def _has_file(upload) -> bool:
    return upload is not None and bool(getattr(upload, "filename", ""))


def _http_url(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _drop_unused_pdf(file_id: int | None) -> None:
    """Remove a lesson PDF that no lesson uses any more (PDFs are only ever stored for lessons)."""
    if file_id is None:
        return
    if db.session.scalar(select(Lesson.id).where(Lesson.file_id == file_id).limit(1)) is None:
        stored = db.session.get(files.StoredFile, file_id)
        if stored is not None:
            db.session.delete(stored)


@dataclass
class _LessonMedia:
    pdf: tuple[bytes, str, str] | None = None  # data, media type, filename
    video_path: str | None = None
    video_url: str | None = None
    video_seconds: int | None = None


def _check_lesson(form: LessonForm, lesson: Lesson | None) -> _LessonMedia | None:
    """Check what depends on the kind; store an uploaded video last. None (with field errors) when invalid."""
    kind = form.kind.data
    found = _LessonMedia()
    if lesson is not None and kind != lesson.kind and _lesson_has_progress(lesson):
        form.kind.errors.append(_("已有学员学习本节，不能更改类型"))
        return None
    if kind == "text" and not (form.body_md.data or "").strip():
        form.body_md.errors.append(_("请填写正文"))
        return None
    if kind == "pdf":
        upload = form.pdf.data
        if _has_file(upload):
            data = upload.read(media.PDF_MAX_BYTES + 1)
            try:
                found.pdf = (data, media.check_pdf(data), upload.filename)
            except files.FileRejected as exc:
                form.pdf.errors.append(str(exc))
                return None
        elif lesson is None or lesson.kind != "pdf" or lesson.file_id is None:
            form.pdf.errors.append(_("请上传 PDF 文件"))
            return None
    if kind != "video":
        return found
    seconds = media.parse_duration(form.video_length.data or "")
    if seconds is None:
        form.video_length.errors.append(_("请按“分:秒”填写视频时长，例如 12:30"))
        return None
    found.video_seconds = seconds
    url = (form.video_url.data or "").strip()
    upload = form.video.data
    if url and not _http_url(url):
        form.video_url.errors.append(_("请填写 http:// 或 https:// 开头的链接"))
        return None
    if url and _has_file(upload):
        form.video_url.errors.append(_("请只选择一种：上传视频文件，或填写视频链接"))
        return None
    if _has_file(upload):
        try:
            found.video_path = media.save_video(upload.stream)
        except files.FileRejected as exc:
            form.video.errors.append(str(exc))
            return None
    elif url:
        found.video_url = url
    elif lesson is not None and lesson.kind == "video" and lesson.video_path:
        found.video_path = lesson.video_path
    else:
        form.video.errors.append(_("请上传视频文件或填写视频链接"))
        return None
    return found


def _save_lesson(form: LessonForm, course: Course, lesson: Lesson | None, found: _LessonMedia) -> Lesson:
    is_new = lesson is None
    if is_new:
        lesson = Lesson(position=max((item.position for item in course.lessons), default=0) + 1)
        course.lessons.append(lesson)
    old_file_id = lesson.file_id
    lesson.title = form.title.data.strip()
    lesson.kind = form.kind.data
    lesson.hours = round(form.hours.data, 2)
    lesson.min_seconds = form.min_minutes.data * 60
    lesson.source = (form.source.data or "").strip()
    lesson.body_md = (form.body_md.data or "").strip()
    lesson.body_html = markup.render(lesson.body_md)
    if lesson.kind == "pdf":
        if found.pdf is not None:
            data, media_type, filename = found.pdf
            stored = files.store(data, media_type, filename, current_user.id)
            db.session.flush()
            lesson.file_id = stored.id
    else:
        lesson.file_id = None
    if lesson.kind == "video":
        lesson.video_path, lesson.video_url = found.video_path, found.video_url
        lesson.video_seconds = found.video_seconds
    else:
        lesson.video_path = lesson.video_url = lesson.video_seconds = None
    db.session.flush()
    if old_file_id != lesson.file_id:
        _drop_unused_pdf(old_file_id)
    record("create" if is_new else "update", lesson, summary=f"{course.title}：{lesson.title}", course_id=course.id,
           kind=lesson.kind, hours=lesson.hours)
    return lesson


@bp.route("/<int:course_id>/lessons/new", methods=["GET", "POST"])
@bp.route("/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@csrf.exempt  # the form checks its CSRF token itself, after the video-sized upload limit is set
@role_required(*MANAGE_ROLES)
def lesson_edit(course_id: int | None = None, lesson_id: int | None = None):
    # Before anything reads the body: this form may carry a video, larger than the app's default limit.
    request.max_content_length = media.VIDEO_MAX_BYTES + media.FORM_OVERHEAD_BYTES
    lesson = _managed_lesson_or_403(lesson_id) if lesson_id else None
    course = lesson.course if lesson is not None else _managed_or_403(course_id)
    try:
        request.files  # noqa: B018 - parse the body now, under the limit above
    except RequestEntityTooLarge:
        message = media.video_too_big()
        if _wants_json():
            return jsonify(errors=[message]), 413
        flash(message, "danger")
        form = LessonForm(formdata=None, data=_lesson_initial(lesson) if lesson is not None else None)
        form.kind.choices = opts(KIND_LABELS.items())
        return render_template("courses/manage/lesson_form.html", form=form, course=course, lesson=lesson,
                               has_progress=_has_progress(course)), 413
    form = LessonForm(data=_lesson_initial(lesson) if lesson is not None and request.method == "GET" else None)
    form.kind.choices = opts(KIND_LABELS.items())
    if form.validate_on_submit():
        found = _check_lesson(form, lesson)
        if found is not None:
            lesson = _save_lesson(form, course, lesson, found)
            db.session.commit()
            flash(_("已保存课时"), "success")
            target = url_for("course_manage.detail", course_id=course.id)
            return jsonify(next=target) if _wants_json() else redirect(target)
    if _wants_json() and request.method == "POST":
        errors = [f"{field.label.text}：{msg}" for field in form if field.name != "csrf_token" for msg in field.errors]
        if form.csrf_token.errors:
            errors.insert(0, _("页面已过期或表单无效，请刷新后重试"))
        return jsonify(errors=errors), 422
    return render_template("courses/manage/lesson_form.html", form=form, course=course, lesson=lesson,
                           has_progress=_has_progress(course))


@bp.route("/lessons/<int:lesson_id>")
@role_required(*MANAGE_ROLES)
def lesson_preview(lesson_id: int):
    lesson = _managed_lesson_or_403(lesson_id)
    return render_template("courses/manage/lesson_preview.html", lesson=lesson, course=lesson.course,
                           kind_labels=KIND_LABELS, duration=media.format_duration)


def _renumber(lessons: list[Lesson]) -> None:
    for position, item in enumerate(lessons, 1):
        item.position = position


@bp.route("/lessons/<int:lesson_id>/move", methods=["POST"])
@role_required(*MANAGE_ROLES)
def lesson_move(lesson_id: int):
    lesson = _managed_lesson_or_403(lesson_id)
    _checked()
    course = lesson.course
    lessons = list(course.lessons)
    i = lessons.index(lesson)
    j = i - 1 if request.form.get("direction") == "up" else i + 1
    if 0 <= j < len(lessons):
        lessons[i], lessons[j] = lessons[j], lessons[i]
        _renumber(lessons)
        record("reorder", course, summary=course.title, lessons=[item.id for item in lessons])
        db.session.commit()
    return redirect(url_for("course_manage.detail", course_id=course.id, _anchor=f"lesson-{lesson.id}"))


@bp.route("/lessons/<int:lesson_id>/delete", methods=["POST"])
@role_required(*MANAGE_ROLES)
def lesson_delete(lesson_id: int):
    lesson = _managed_lesson_or_403(lesson_id)
    _checked()
    course = lesson.course
    target = redirect(url_for("course_manage.detail", course_id=course.id))
    if _has_progress(course):
        flash(_("已有学员学习本课程，不能删除课时；可以修改课时内容"), "danger")
        return target
    if course.status == "published" and len(course.lessons) == 1:
        flash(_("已发布的课程至少要保留一节课；要下线课程，请停用课程"), "danger")
        return target
    record("delete", lesson, summary=f"{course.title}：{lesson.title}", course_id=course.id)
    file_id = lesson.file_id
    course.lessons.remove(lesson)
    _renumber(list(course.lessons))
    db.session.flush()
    _drop_unused_pdf(file_id)
    db.session.commit()
    flash(_("已删除课时"), "success")
    return target


# --- lesson media for viewers (learners and authors) ---------------------------------------

@bp.route("/lessons/<int:lesson_id>/video")
@login_required
def video(lesson_id: int):
    """An uploaded video, with Range support so the player can seek."""
    lesson = _viewable_lesson_or_404(lesson_id)
    path = media.video_file(lesson.video_path) if lesson.kind == "video" and lesson.video_path else None
    if path is None:
        abort(404)
    ext = path.rsplit(".", 1)[-1]
    response = send_file(path, mimetype=media.VIDEO_TYPES.get(ext, "application/octet-stream"), conditional=True,
                         max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.route("/lessons/<int:lesson_id>/pdf")
@login_required
def pdf(lesson_id: int):
    """A lesson's PDF, shown inline; pages of this site may embed it."""
    lesson = _viewable_lesson_or_404(lesson_id)
    stored = db.session.get(files.StoredFile, lesson.file_id) if lesson.kind == "pdf" and lesson.file_id else None
    if stored is None:
        abort(404)
    response = send_file(io.BytesIO(stored.data), mimetype="application/pdf", conditional=True,
                         etag=stored.sha256, download_name=f"lesson-{lesson.id}.pdf", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return response


# --- assignments ----------------------------------------------------------------------------

def _published_or_404(course_id: int) -> Course:
    course = _course_or_404(course_id)
    if course.status != "published":
        abort(404)
    return course


@dataclass
class Preview:
    count: int
    already: int
    people: list[Person]


def _preview(stmt, course: Course) -> Preview:
    ids = select(stmt.subquery().c.id)
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    already = db.session.scalar(select(func.count(Enrolment.id)).where(
        Enrolment.course_id == course.id, Enrolment.status != "withdrawn", Enrolment.person_id.in_(ids))) or 0
    people = db.session.scalars(stmt.limit(PREVIEW_NAMES)).all()
    return Preview(count, already, list(people))


def _check_due(form) -> bool:
    if form.due_on.data < service.today():
        form.due_on.errors.append(_("完成期限不能早于今天"))
        return False
    return True


def _enrol_all(stmt, course: Course, source: str, due_on: dt.date, **details) -> int:
    """Enrol everyone `stmt` selects (an in-scope query), audit it once; 0 (and nothing done) when nobody."""
    people = db.session.scalars(stmt).all()
    if not people:
        return 0
    for person in people:
        service.enrol(person, course, source=source, by=current_user, due_on=due_on)
    record("assign", course, summary=f"{course.title}：布置给 {len(people)} 人",
           source=source, due_on=due_on, count=len(people),
           person_ids=[p.id for p in people[:AUDITED_IDS]], **details)
    db.session.commit()
    flash(_("已为 %(n)d 人布置课程《%(title)s》，完成期限 %(due)s", n=len(people), title=course.title,
            due=due_on.isoformat()), "success")
    return len(people)


@bp.route("/<int:course_id>/assign/unit", methods=["GET", "POST"])
@role_required(*ASSIGN_ROLES)
def assign_unit(course_id: int):
    """Assign to departments, audience groups or named people of one enterprise (their union)."""
    course = _published_or_404(course_id)
    ent_id = request.args.get("enterprise", type=int)
    if ent_id is None:
        mine = administered_enterprise_ids(current_user)
        ent_id = mine[0] if len(mine) == 1 else None
    ent = db.session.scalar(select(Enterprise).where(
        Enterprise.id == ent_id, enterprise_criterion(current_user, ASSIGN_ROLES))) if ent_id else None
    if ent is None:
        abort(404)
    staff = db.session.scalars(select(Person).where(Person.enterprise_id == ent.id, Person.status == "active")
                               .options(selectinload(Person.department)).order_by(Person.name, Person.id)).all()
    departments = db.session.scalars(select(Department).where(Department.enterprise_id == ent.id)
                                     .order_by(Department.name)).all()
    form = EnterpriseAssignForm()
    form.departments.choices = opts((d.id, d.name) for d in departments)
    form.audiences.choices = opts(AUDIENCE_LABELS.items())
    form.people.choices = opts((p.id, f"{p.name}（{p.department.name if p.department else '—'}）") for p in staff)
    preview = None
    if form.validate_on_submit():
        chosen = set(form.people.data or [])
        if chosen - {p.id for p in staff}:
            form.people.errors.append(_("所选人员中有不属于本单位在职人员的，本次布置未执行"))
        elif not (form.departments.data or form.audiences.data or chosen):
            form.departments.errors.append(_("请至少选择一个部门、人员类别或人员"))
        elif _check_due(form):
            picks = []
            if form.departments.data:
                picks.append(Person.department_id.in_(form.departments.data))
            if form.audiences.data:
                picks.append(Person.audience.in_(form.audiences.data))
            if chosen:
                picks.append(Person.id.in_(chosen))
            stmt = (select(Person).where(Person.enterprise_id == ent.id, Person.status == "active", or_(*picks))
                    .order_by(Person.name, Person.id))
            source = "enterprise" if ent.id in administered_enterprise_ids(current_user) else "manager"
            if form.confirm.data and _enrol_all(
                    stmt, course, source, form.due_on.data, enterprise_id=ent.id,
                    departments=list(form.departments.data or []), audiences=list(form.audiences.data or [])):
                return redirect(url_for("course_manage.assignments", course_id=course.id, enterprise=ent.id))
            preview = _preview(stmt, course)
    return render_template("courses/manage/assign_unit.html", course=course, ent=ent, form=form, preview=preview,
                           today=service.today())


@bp.route("/<int:course_id>/assign/area", methods=["GET", "POST"])
@role_required(*AREA_ROLES)
def assign_area(course_id: int):
    """Assign to every active person of chosen audiences in the enterprises of the manager's scope."""
    course = _published_or_404(course_id)
    form = AreaAssignForm()
    streets = db.session.scalars(select(Street).where(street_criterion(current_user)).order_by(Street.name)).all()
    form.street_id.choices = opts([(0, _("辖区内全部街镇"))] + [(s.id, s.name) for s in streets])
    form.sector_id.choices = opts([(0, _("全部行业领域"))] + [(s.id, s.display_name(_locale())) for s in
                                                          db.session.scalars(select(Sector).order_by(Sector.id))])
    form.audiences.choices = opts(AUDIENCE_LABELS.items())
    preview = None
    valid = form.validate_on_submit()
    if valid and not form.audiences.data:
        form.audiences.errors.append(_("请至少选择一个人员类别"))
    elif valid and _check_due(form):
        # Only enterprises the manager's own grants reach; street and sector can only narrow that.
        ents = select(Enterprise.id).where(enterprise_criterion(current_user, AREA_ROLES))
        if form.street_id.data:
            ents = ents.where(Enterprise.street_id == form.street_id.data)
        if form.sector_id.data:
            ents = ents.where(Enterprise.sector_id.in_(sector_family(form.sector_id.data)))
        stmt = (select(Person).where(Person.enterprise_id.in_(ents), Person.status == "active",
                                     Person.audience.in_(form.audiences.data))
                .order_by(Person.enterprise_id, Person.name, Person.id))
        if form.confirm.data and _enrol_all(stmt, course, "manager", form.due_on.data,
                                            street_id=form.street_id.data or None,
                                            sector_id=form.sector_id.data or None, audiences=list(form.audiences.data)):
            return redirect(url_for("course_manage.assignments", course_id=course.id))
        preview = _preview(stmt, course)
    units = db.session.scalars(select(Enterprise).where(enterprise_criterion(current_user, AREA_ROLES))
                               .order_by(Enterprise.name).limit(500)).all()
    return render_template("courses/manage/assign_area.html", course=course, form=form, preview=preview,
                           units=units, today=service.today())


def _may_withdraw(enrolment: Enrolment) -> bool:
    """Assigned and still active; a manager's assignment only by a manager (or admin) over that person."""
    if enrolment.status != "active" or enrolment.source == "self":
        return False
    if enrolment.source == "manager":
        return db.session.scalar(select(Person.id).where(
            Person.id == enrolment.person_id,
            Person.enterprise_id.in_(select(Enterprise.id).where(enterprise_criterion(current_user, AREA_ROLES))))) \
            is not None
    return True


STATUS_FILTERS = ("active", "completed", "withdrawn", "overdue")


@bp.route("/<int:course_id>/assignments")
@role_required(*ASSIGN_ROLES)
def assignments(course_id: int):
    course = _course_or_404(course_id)
    scope = _assign_scope()
    stmt = (select(Enrolment).join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, scope))
    ent_id = request.args.get("enterprise", type=int)
    if ent_id:
        stmt = stmt.where(Person.enterprise_id == ent_id)
        scope = scope & (Person.enterprise_id == ent_id)
    status = request.args.get("status", "")
    if status == "overdue":
        stmt = stmt.where(Enrolment.status == "active", Enrolment.due_on < service.today())
    elif status in ENROLMENT_STATUS_LABELS:
        stmt = stmt.where(Enrolment.status == status)
    page = db.paginate(stmt.order_by(Enrolment.status, Enrolment.due_on, Person.name, Enrolment.id),
                       per_page=PER_PAGE, error_out=False)
    unit = db.session.get(Enterprise, ent_id) if ent_id else None
    return render_template("courses/manage/assignments.html", course=course, page=page,
                           counts=_enrolment_counts(course, scope), status=status, unit=unit, today=service.today(),
                           may_withdraw=_may_withdraw, form=ActionForm(), source_labels=SOURCE_LABELS,
                           status_labels=ENROLMENT_STATUS_LABELS, units=administered_enterprise_ids(current_user),
                           can_assign_area=current_user.has_role(*AREA_ROLES))


@bp.route("/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@role_required(*ASSIGN_ROLES)
def withdraw(enrolment_id: int):
    enrolment = db.session.scalar(select(Enrolment).join(Person, Person.id == Enrolment.person_id)
                                  .where(Enrolment.id == enrolment_id, _assign_scope()))
    if enrolment is None:
        abort(404)
    _checked()
    back = redirect(request.form.get("next") if _local_path(request.form.get("next")) else
                    url_for("course_manage.assignments", course_id=enrolment.course_id))
    if not _may_withdraw(enrolment):
        flash(_("只能撤销尚未完成的布置；街镇/行业布置的课程由布置方撤销"), "warning")
        return back
    service.withdraw(enrolment)
    record("withdraw", enrolment, summary=f"{enrolment.course.title}：{enrolment.person.name}",
           course_id=enrolment.course_id, person_id=enrolment.person_id, source=enrolment.source)
    db.session.commit()
    flash(_("已撤销 %(name)s 的课程布置", name=enrolment.person.name), "success")
    return back


def _local_path(target: str | None) -> bool:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parsed = urlparse(target)
    return not parsed.scheme and not parsed.netloc
