"""Exam definitions for trainers and managers: list, create, edit blueprint, publish, close; results.

Access: admins manage every exam, trainers and managers the exams they created (``may_manage``).
Editing, publishing, closing and the definition page of an exam you do not manage answer 403
(an unknown exam 404). Results are also open to managers and regulators who do not manage the
exam, limited to the people in their scope (``person_criterion``).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import person_criterion
from trainapp.exams import analysis, service
from trainapp.exams.forms import ActionForm, ExamForm
from trainapp.exams.models import Attempt, Exam, ExamFixedQuestion, ExamPart
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.paging import ListPage
from trainapp.labels import AUDIENCE_LABELS, label
from trainapp.org.models import Sector
from trainapp.questionbank.models import Question, QuestionBank
from trainapp.questionbank.qtypes import REGISTRY
from trainapp.questionbank.subjects import SUBJECTS

bp = Blueprint("exam_manage", __name__, url_prefix="/exams/manage")

LIST_ROLES = (*service.MANAGE_ROLES, "regulator")
RESULTS_ROLES = (*service.MANAGE_ROLES, "regulator")
SCOPED_RESULT_ROLES = ("manager", "regulator")
PER_PAGE = 100
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STATUS_LABELS = {"draft": _l("草稿"), "published": _l("已发布"), "closed": _l("已结束")}
MODE_LABELS = {"blueprint": _l("按规则随机抽题"), "fixed": _l("固定试卷")}
COUNT_LABELS = {"highest": _l("最高分"), "last": _l("最后一次")}
LAYOUT_LABELS = {"one": _l("每屏一题"), "all": _l("全部题目在一页")}
REVIEW_CONTENT_LABELS = {"score": _l("仅成绩"), "answers": _l("成绩和本人答案"),
                         "full": _l("成绩、本人答案、正确答案和解析")}
REVIEW_WHEN_LABELS = {"immediately": _l("交卷后立即"), "after_close": _l("考试截止后")}
DIFFICULTY_LABELS = {1: _l("易"), 2: _l("中"), 3: _l("难")}


# --- access ----------------------------------------------------------------------

def _exam_or_404(exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        abort(404)
    return exam


def _managed_or_403(exam_id: int) -> Exam:
    exam = _exam_or_404(exam_id)
    if not service.may_manage(current_user, exam):
        abort(403)
    return exam


def _results_scope(exam: Exam):
    """None: every attempt; otherwise a criterion on Person. Aborts 403 for everyone else."""
    if service.may_manage(current_user, exam):
        return None
    if current_user.has_role(*SCOPED_RESULT_ROLES):
        return person_criterion(current_user)
    abort(403)


def _locale() -> str:
    return str(get_locale() or "zh_CN")


# --- list --------------------------------------------------------------------------

def _with_attempt_counts(stmt):
    counts = (select(Attempt.exam_id, func.count(Attempt.id).label("n"))
              .group_by(Attempt.exam_id).subquery())
    return (stmt.add_columns(func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.exam_id == Exam.id)
            .order_by(Exam.created_at.desc(), Exam.id.desc()))


@bp.route("/")
@role_required(*LIST_ROLES)
def index():
    mine = []
    if current_user.has_role(*service.MANAGE_ROLES):
        stmt = select(Exam)
        if not current_user.has_role("admin"):
            stmt = stmt.where(Exam.owner_id == current_user.id)
        mine = db.session.execute(_with_attempt_counts(stmt).limit(500)).all()
    others = []
    if current_user.has_role(*SCOPED_RESULT_ROLES) and not current_user.has_role("admin"):
        stmt = select(Exam).where(Exam.status != "draft", Exam.owner_id.is_distinct_from(current_user.id))
        others = db.session.execute(_with_attempt_counts(stmt).limit(500)).all()
    return render_template("exams/manage/index.html", mine=mine, others=others, status_labels=STATUS_LABELS,
                           subjects=SUBJECTS, can_create=current_user.has_role(*service.MANAGE_ROLES))


# --- create and edit ------------------------------------------------------------------

def _fill_choices(form: ExamForm, exam: Exam | None) -> None:
    form.subject.choices = opts(SUBJECTS.items())
    form.audiences.choices = opts(AUDIENCE_LABELS.items())
    form.sectors.choices = opts((s.id, s.display_name(_locale())) for s in db.session.scalars(
        select(Sector).order_by(Sector.id)))
    form.mode.choices = opts(MODE_LABELS.items())
    form.counts.choices = opts(COUNT_LABELS.items())
    form.layout.choices = opts(LAYOUT_LABELS.items())
    form.review_content.choices = opts(REVIEW_CONTENT_LABELS.items())
    form.review_when.choices = opts(REVIEW_WHEN_LABELS.items())
    from trainapp.certificates.models import CertificateTemplate

    templates = db.session.scalars(select(CertificateTemplate).where(
        (CertificateTemplate.active.is_(True)) | (CertificateTemplate.code == (exam.certificate_template if exam else None)))
        .order_by(CertificateTemplate.id)).all()
    form.certificate_template.choices = opts([("", _("不发证书"))] + [(t.code, t.name) for t in templates])
    used = {p.bank_id for p in exam.parts} if exam is not None else set()
    banks = db.session.scalars(select(QuestionBank).where(
        (QuestionBank.status == "active") | QuestionBank.id.in_(used)).order_by(QuestionBank.name)).all()
    bank_choices = opts([(0, "—")] + [(b.id, b.name) for b in banks])
    type_choices = opts((code, t.label) for code, t in REGISTRY.items())
    difficulty_choices = opts([(0, _("不限"))] + list(DIFFICULTY_LABELS.items()))
    for entry in form.parts.entries:
        entry.form.bank_id.choices = bank_choices
        entry.form.qtype.choices = type_choices
        entry.form.difficulty.choices = difficulty_choices


def _initial(exam: Exam) -> dict:
    return {
        "title": exam.title, "description": exam.description, "subject": exam.subject,
        "audiences": list(exam.audiences or []), "sectors": [s.id for s in exam.sectors],
        "mode": "fixed" if exam.fixed_paper else "blueprint",
        "parts": [{"bank_id": p.bank_id, "qtype": p.qtype, "count": p.count, "tag": p.tag or "",
                   "difficulty": p.difficulty or 0} for p in exam.parts],
        "question_ids": ", ".join(str(f.question_id) for f in exam.fixed_questions),
        "points_single": exam.points_single, "points_multiple": exam.points_multiple,
        "points_truefalse": exam.points_truefalse, "partial_credit": exam.partial_credit,
        "time_limit_minutes": exam.time_limit_minutes, "pass_percent": exam.pass_percent,
        "max_attempts": exam.max_attempts, "retry_wait_minutes": exam.retry_wait_minutes, "counts": exam.counts,
        "opens_at": exam.opens, "closes_at": exam.closes,
        "shuffle_questions": exam.shuffle_questions, "shuffle_options": exam.shuffle_options,
        "layout": "one" if exam.one_per_page else "all", "review_content": exam.review_content,
        "review_when": exam.review_when, "certificate_template": exam.certificate_template or "",
    }


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.timezone.utc) if value is not None else None


def _apply(form: ExamForm, exam: Exam, banks: dict[int, QuestionBank]) -> None:
    """Copy the form onto `exam` (a transient candidate or the real exam)."""
    exam.title = form.title.data.strip()
    exam.description = (form.description.data or "").strip()
    exam.subject = form.subject.data
    exam.audiences = list(form.audiences.data or [])
    exam.sectors = list(db.session.scalars(select(Sector).where(Sector.id.in_(form.sectors.data or []))
                                           .order_by(Sector.id)))
    exam.fixed_paper = form.mode.data == "fixed"
    if exam.fixed_paper:
        existing = {f.question_id: f for f in exam.fixed_questions}
        chosen = []
        for position, qid in enumerate(form.fixed_ids, 1):
            item = existing.get(qid) or ExamFixedQuestion(question_id=qid)
            item.position = position
            chosen.append(item)
        exam.fixed_questions = chosen
        exam.parts = []
    else:
        exam.parts = [ExamPart(position=i, bank=banks[p.bank_id.data], bank_id=p.bank_id.data, qtype=p.qtype.data,
                               count=p.count.data, tag=(p.tag.data or "").strip(),
                               difficulty=p.difficulty.data or None)
                      for i, p in enumerate(form.filled_parts(), 1)]
        exam.fixed_questions = []
    exam.points_single = form.points_single.data
    exam.points_multiple = form.points_multiple.data
    exam.points_truefalse = form.points_truefalse.data
    exam.partial_credit = bool(form.partial_credit.data)
    exam.time_limit_minutes = form.time_limit_minutes.data
    exam.pass_percent = form.pass_percent.data
    exam.max_attempts = form.max_attempts.data
    exam.retry_wait_minutes = form.retry_wait_minutes.data
    exam.counts = form.counts.data
    exam.opens_at = _utc(form.opens_at.data)
    exam.closes_at = _utc(form.closes_at.data)
    exam.shuffle_questions = bool(form.shuffle_questions.data)
    exam.shuffle_options = bool(form.shuffle_options.data)
    exam.one_per_page = form.layout.data == "one"
    exam.review_content = form.review_content.data
    exam.review_when = form.review_when.data
    exam.certificate_template = (form.certificate_template.data or "").strip() or None


def _unknown_questions(form: ExamForm) -> bool:
    """Flag fixed-paper numbers that name no question; True when there are any."""
    if form.mode.data != "fixed" or not form.fixed_ids:
        return False
    found = set(db.session.scalars(select(Question.id).where(Question.id.in_(form.fixed_ids))))
    missing = [i for i in form.fixed_ids if i not in found]
    if missing:
        form.question_ids.errors.append(_("没有这些编号的题目：%(ids)s", ids="、".join(f"#{i}" for i in missing)))
        return True
    return False


def _has_attempts(exam: Exam | None) -> bool:
    return exam is not None and exam.id is not None and db.session.scalar(
        select(Attempt.id).where(Attempt.exam_id == exam.id).limit(1)) is not None


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:exam_id>/edit", methods=["GET", "POST"])
@role_required(*service.MANAGE_ROLES)
def edit(exam_id: int | None = None):
    exam = _managed_or_403(exam_id) if exam_id else None
    form = ExamForm(data=_initial(exam) if exam is not None and request.method == "GET" else None)
    _fill_choices(form, exam)
    shortfalls: list[str] = []
    if form.validate_on_submit() and not _unknown_questions(form):
        banks = {b.id: b for b in db.session.scalars(select(QuestionBank).where(
            QuestionBank.id.in_([p.bank_id.data for p in form.filled_parts()])))}
        # Check the paper can be drawn on a candidate outside the session, so nothing is written otherwise.
        candidate = Exam()
        _apply(form, candidate, banks)
        shortfalls = service.blueprint_shortfalls(candidate)
        if shortfalls:
            if form.mode.data == "fixed":
                form.question_ids.errors.extend(shortfalls)
        else:
            is_new = exam is None
            if is_new:
                exam = Exam(owner_id=current_user.id, status="draft")
                db.session.add(exam)
            _apply(form, exam, banks)
            record("create" if is_new else "update", exam, summary=exam.title,
                   fixed_paper=exam.fixed_paper, status=exam.status)
            db.session.commit()
            flash(_("已保存考试"), "success")
            return redirect(url_for("exam_manage.detail", exam_id=exam.id))
    return render_template("exams/manage/form.html", form=form, exam=exam, shortfalls=shortfalls,
                           has_attempts=_has_attempts(exam), failed=request.method == "POST")


# --- the definition page, publish, close --------------------------------------------------

@dataclass
class PartView:
    part: ExamPart
    description: str
    available: int


@bp.route("/<int:exam_id>")
@role_required(*service.MANAGE_ROLES)
def detail(exam_id: int):
    exam = _managed_or_403(exam_id)
    parts = [PartView(p, service.describe_part(p, i), db.session.scalar(
        select(func.count()).select_from(service.part_candidates(p).subquery())))
        for i, p in enumerate(exam.parts, 1)]
    fixed = db.session.execute(
        select(ExamFixedQuestion.question_id, Question.stem, Question.qtype, Question.status)
        .join(Question, Question.id == ExamFixedQuestion.question_id)
        .where(ExamFixedQuestion.exam_id == exam.id).order_by(ExamFixedQuestion.position)).all()
    total_points = sum(exam.points_for(p.qtype) * p.count for p in exam.parts) if not exam.fixed_paper else \
        sum(exam.points_for(q.qtype) for q in fixed)
    return render_template(
        "exams/manage/detail.html", exam=exam, parts=parts, fixed=fixed, total_points=total_points,
        counts=analysis.exam_counts(exam), shortfalls=service.blueprint_shortfalls(exam), form=ActionForm(),
        status_labels=STATUS_LABELS, subjects=SUBJECTS, count_labels=COUNT_LABELS, layout_labels=LAYOUT_LABELS,
        review_content_labels=REVIEW_CONTENT_LABELS, review_when_labels=REVIEW_WHEN_LABELS, types=REGISTRY)


def _checked_action(exam_id: int) -> Exam:
    exam = _managed_or_403(exam_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return exam


@bp.route("/<int:exam_id>/publish", methods=["POST"])
@role_required(*service.MANAGE_ROLES)
def publish(exam_id: int):
    exam = _checked_action(exam_id)
    if exam.status == "published":
        flash(_("考试已发布"), "info")
        return redirect(url_for("exam_manage.detail", exam_id=exam.id))
    problems = service.blueprint_shortfalls(exam)
    if problems:
        flash(_("无法发布：题库中的题目不足以组卷"), "danger")
        for message in problems:
            flash(message, "danger")
        return redirect(url_for("exam_manage.detail", exam_id=exam.id))
    exam.status = "published"
    record("publish", exam, summary=exam.title)
    db.session.commit()
    flash(_("考试已发布"), "success")
    return redirect(url_for("exam_manage.detail", exam_id=exam.id))


@bp.route("/<int:exam_id>/close", methods=["POST"])
@role_required(*service.MANAGE_ROLES)
def close(exam_id: int):
    exam = _checked_action(exam_id)
    if exam.status != "published":
        flash(_("只有已发布的考试可以结束"), "warning")
        return redirect(url_for("exam_manage.detail", exam_id=exam.id))
    exam.status = "closed"
    record("close", exam, summary=exam.title)
    db.session.commit()
    flash(_("考试已结束，学员不能再开始新的答卷"), "success")
    return redirect(url_for("exam_manage.detail", exam_id=exam.id))


# --- results ----------------------------------------------------------------------------

@bp.route("/<int:exam_id>/results")
@role_required(*RESULTS_ROLES)
def results(exam_id: int):
    exam = _exam_or_404(exam_id)
    scope = _results_scope(exam)
    service.sweep_expired()
    filters = analysis.Filters.from_args(request.args)
    stmt = analysis.results_statement(exam, scope, filters)
    summary = analysis.summary(stmt)
    page = ListPage.of(summary.participants, request.args.get("page", 1, type=int), PER_PAGE)
    rows = analysis.to_rows(db.session.execute(
        analysis.ordered(stmt).limit(PER_PAGE).offset((page.page - 1) * PER_PAGE)))
    return render_template(
        "exams/manage/results.html", exam=exam, rows=rows, summary=summary, filters=filters,
        page=page, items=analysis.item_analysis(exam, scope, filters),
        choices=analysis.filter_choices(exam, scope), scoped=scope is not None, status_labels=STATUS_LABELS,
        types=REGISTRY, may_manage=service.may_manage(current_user, exam))


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return to_user_timezone(value).replace(tzinfo=None) if value is not None else None


def _yes_no(value: bool) -> str:
    return _("是") if value else _("否")


@bp.route("/<int:exam_id>/results.xlsx")
@role_required(*RESULTS_ROLES)
def export(exam_id: int):
    import pandas as pd

    exam = _exam_or_404(exam_id)
    scope = _results_scope(exam)
    service.sweep_expired()
    filters = analysis.Filters.from_args(request.args)
    rows = analysis.to_rows(db.session.execute(analysis.ordered(analysis.results_statement(exam, scope, filters))))
    results = pd.DataFrame([{
        _("姓名"): r.name, _("单位"): r.enterprise, _("街镇"): r.street, _("行业领域"): r.sector,
        _("人员类别"): label(AUDIENCE_LABELS, r.audience), _("考试次数"): r.used,
        _("得分"): r.score, _("满分"): r.max_score,
        _("得分率（%）"): round(r.percent, 1) if r.percent is not None else None,
        _("是否及格"): _yes_no(r.passed), _("交卷时间"): _local(r.submitted_at),
        _("自动交卷"): _yes_no(r.auto_submitted), _("离开页面次数"): r.leave_count,
    } for r in rows], columns=[_("姓名"), _("单位"), _("街镇"), _("行业领域"), _("人员类别"), _("考试次数"),
                               _("得分"), _("满分"), _("得分率（%）"), _("是否及格"), _("交卷时间"),
                               _("自动交卷"), _("离开页面次数")])
    items = pd.DataFrame([{
        _("题号"): s.question_id, _("题库"): s.bank, _("题型"): str(REGISTRY[s.qtype].label)
        if s.qtype in REGISTRY else s.qtype, _("题干"): s.stem, _("作答次数"): s.answered,
        _("难度系数（得分率）"): round(s.facility, 3),
        _("区分度"): round(s.discrimination, 3) if s.discrimination is not None else None,
    } for s in analysis.item_analysis(exam, scope, filters)],
        columns=[_("题号"), _("题库"), _("题型"), _("题干"), _("作答次数"), _("难度系数（得分率）"), _("区分度")])
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        results.to_excel(writer, sheet_name=_("成绩"), index=False)
        items.to_excel(writer, sheet_name=_("题目分析"), index=False)
    record("export", exam, summary=exam.title, rows=len(rows))
    db.session.commit()
    return send_file(io.BytesIO(buf.getvalue()), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=f"exam-{exam.id}-results.xlsx")
