"""Question banks on the web: browse, edit, upload → preview → confirm, export."""
from __future__ import annotations

import io
import json

from flask import (
    Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from trainapp import files, uploads
from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.paging import ListPage
from trainapp.labels import AUDIENCE_LABELS
from trainapp.org.models import Sector
from trainapp.questionbank import formats, service
from trainapp.questionbank.forms import BankForm, ConfirmImportForm, QuestionForm, UploadForm
from trainapp.questionbank.formats.common import ParsedQuestion, check_question, clean_text, split_tags
from trainapp.questionbank.models import Question, QuestionBank, update_question
from trainapp.questionbank.qtypes import LETTERS, REGISTRY
from trainapp.questionbank.subjects import SUBJECTS

bp = Blueprint("questionbank", __name__, url_prefix="/banks")
UPLOAD_KIND = "questions"
PREVIEW_PER_PAGE = 100
NEW_BANK = 0
FORMAT_LABELS = {
    "auto": _l("自动识别"), "xlsx": "Excel (.xlsx)", "csv": "CSV", "docx": "Word (.docx)",
    "txt": _l("纯文本（Word 版式）"), "gift": "Moodle GIFT", "aiken": "Aiken", "moodlexml": "Moodle XML",
    "json": "JSON",
}
DIFFICULTY = {1: _l("易"), 2: _l("中"), 3: _l("难")}


def _bank_or_404(bank_id: int) -> QuestionBank:
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None:
        abort(404)
    return bank


def _editable_bank_or_404(bank_id: int) -> QuestionBank:
    bank = _bank_or_404(bank_id)
    if not service.may_edit(current_user, bank):
        abort(403)
    return bank


def _question_or_404(question_id: int, edit: bool = False) -> Question:
    question = db.session.get(Question, question_id)
    if question is None:
        abort(404)
    if edit and not service.may_edit(current_user, question.bank):
        abort(403)
    return question


# --- banks ------------------------------------------------------------------

@bp.route("/")
@role_required(*service.VIEW_ROLES)
def index():
    q = request.args.get("q", "").strip()
    subject = request.args.get("subject") or None
    counts = (select(Question.bank_id, func.count(Question.id).label("n"))
              .where(Question.status == "active").group_by(Question.bank_id).subquery())
    stmt = (select(QuestionBank, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.bank_id == QuestionBank.id)
            .order_by(QuestionBank.status, QuestionBank.subject, QuestionBank.name))
    if q:
        stmt = stmt.where(QuestionBank.name.contains(q, autoescape=True))
    if subject:
        stmt = stmt.where(QuestionBank.subject == subject)
    rows = db.session.execute(stmt.limit(500)).all()
    return render_template("questionbank/index.html", rows=rows, subjects=SUBJECTS, q=q, subject=subject,
                           can_author=current_user.has_role(*service.AUTHOR_ROLES))


def _fill_bank_form(form: BankForm) -> None:
    form.subject.choices = opts(SUBJECTS.items())
    form.sectors.choices = opts((s.id, s.display_name(_locale())) for s in db.session.scalars(
        select(Sector).order_by(Sector.id)))
    form.audiences.choices = opts(AUDIENCE_LABELS.items())


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh_CN")


def _name_taken(form: BankForm, own_id: int | None) -> bool:
    other = service.find_bank(form.name.data)
    if other is not None and other.id != own_id:
        form.name.errors.append(_("已有同名题库"))
        return True
    return False


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:bank_id>/edit", methods=["GET", "POST"])
@role_required(*service.AUTHOR_ROLES)
def bank_edit(bank_id: int | None = None):
    bank = _editable_bank_or_404(bank_id) if bank_id else None
    form = BankForm(obj=bank)
    _fill_bank_form(form)
    if request.method == "GET" and bank is not None:
        form.sectors.data = [s.id for s in bank.sectors]
        form.audiences.data = list(bank.audiences or [])
    if form.validate_on_submit() and not _name_taken(form, bank.id if bank else None):
        is_new = bank is None
        if is_new:
            bank = service.new_bank(form.name.data, current_user.id)
        bank.name, bank.subject = form.name.data.strip(), form.subject.data
        bank.description = (form.description.data or "").strip()
        bank.audiences = list(form.audiences.data or [])
        bank.sectors = list(db.session.scalars(select(Sector).where(Sector.id.in_(form.sectors.data or []))))
        record("create" if is_new else "update", bank, summary=bank.name)
        db.session.commit()
        flash(_("已保存题库"), "success")
        return redirect(url_for("questionbank.bank", bank_id=bank.id))
    return render_template("questionbank/bank_form.html", form=form, bank=bank)


@bp.route("/<int:bank_id>/status", methods=["POST"])
@role_required(*service.AUTHOR_ROLES)
def bank_status(bank_id: int):
    bank = _editable_bank_or_404(bank_id)
    if not ConfirmImportForm().validate_on_submit():
        abort(400)
    bank.status = "active" if bank.status == "archived" else "archived"
    record("archive" if bank.status == "archived" else "restore", bank, summary=bank.name)
    db.session.commit()
    flash(_("题库已停用") if bank.status == "archived" else _("题库已启用"), "info")
    return redirect(url_for("questionbank.bank", bank_id=bank.id))


def _question_filters(stmt, args):
    text = args.get("q", "").strip()
    if text:
        pattern = text
        stmt = stmt.where(or_(Question.stem.icontains(pattern, autoescape=True),
                              Question.explanation.icontains(pattern, autoescape=True)))
    if args.get("type") in REGISTRY:
        stmt = stmt.where(Question.qtype == args["type"])
    status = args.get("status", "active")
    if status in ("active", "retired"):
        stmt = stmt.where(Question.status == status)
    difficulty = args.get("difficulty", type=int)
    if difficulty in (1, 2, 3):
        stmt = stmt.where(Question.difficulty == difficulty)
    tag = args.get("tag", "").strip()
    if tag:
        stmt = stmt.where(Question.tags.contains(f",{tag},", autoescape=True))
    return stmt


@bp.route("/<int:bank_id>")
@role_required(*service.VIEW_ROLES)
def bank(bank_id: int):
    bank = _bank_or_404(bank_id)
    stmt = _question_filters(select(Question).where(Question.bank_id == bank.id), request.args).order_by(Question.id)
    page = db.paginate(stmt, per_page=50, error_out=False)
    totals = dict(db.session.execute(select(Question.status, func.count(Question.id))
                                     .where(Question.bank_id == bank.id).group_by(Question.status)).all())
    by_type = dict(db.session.execute(select(Question.qtype, func.count(Question.id))
                                      .where(Question.bank_id == bank.id, Question.status == "active")
                                      .group_by(Question.qtype)).all())
    return render_template("questionbank/bank.html", bank=bank, page=page, totals=totals, by_type=by_type,
                           types=REGISTRY, can_edit=service.may_edit(current_user, bank),
                           export_formats=formats.EXPORT_FORMATS, format_labels=FORMAT_LABELS,
                           difficulty_labels=DIFFICULTY, letters=LETTERS, subjects=SUBJECTS,
                           answer_display=_answer_display)


@bp.route("/<int:bank_id>/export")
@role_required(*service.VIEW_ROLES)
def export(bank_id: int):
    bank = _bank_or_404(bank_id)
    fmt = request.args.get("format", "xlsx")
    if fmt not in formats.EXPORT_FORMATS:
        abort(404)
    data = service.export_bank(bank, fmt)
    filename = f"{bank.name}{formats.FILE_EXTENSIONS[fmt]}"
    return send_file(io.BytesIO(data), mimetype=formats.MEDIA_TYPES[fmt], as_attachment=True,
                     download_name=filename)


@bp.route("/template.<ext>")
@role_required(*service.VIEW_ROLES)
def template(ext: str):
    if ext == "xlsx":
        data = formats.template_xlsx()
    elif ext == "csv":
        data = formats.template_csv()
    else:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=formats.MEDIA_TYPES[ext], as_attachment=True,
                     download_name=f"question-template.{ext}")


# --- questions ---------------------------------------------------------------

def _fill_question_form(form: QuestionForm) -> None:
    form.qtype.choices = opts((code, t.label) for code, t in REGISTRY.items())
    form.difficulty.choices = opts([(0, "—")] + list(DIFFICULTY.items()))


def _answer_display(qtype: str, answer: str) -> str:
    if qtype == "truefalse":
        return {"T": _("对"), "F": _("错")}.get(answer, answer)
    return answer


@bp.route("/<int:bank_id>/questions/new", methods=["GET", "POST"])
@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@role_required(*service.AUTHOR_ROLES)
def question_edit(bank_id: int | None = None, question_id: int | None = None):
    question = _question_or_404(question_id, edit=True) if question_id else None
    bank = question.bank if question else _editable_bank_or_404(bank_id)
    form = QuestionForm(obj=question)
    _fill_question_form(form)
    if request.method == "GET" and question is not None:
        for field, text in zip(form.option_fields(), question.options or []):
            field.data = text
        form.answer.data = _answer_display(question.qtype, question.answer)
        form.difficulty.data = question.difficulty or 0
        form.tags.data = " ".join(question.tag_list)
    if form.validate_on_submit() and _save_question(form, bank, question):
        return redirect(url_for("questionbank.bank", bank_id=bank.id))
    return render_template("questionbank/question_form.html", form=form, bank=bank, question=question,
                           letters=LETTERS)


def _save_question(form: QuestionForm, bank: QuestionBank, question: Question | None) -> bool:
    """Validate with the type registry and save; False (with field errors) when invalid."""
    qtype = REGISTRY[form.qtype.data]
    options = [clean_text(f.data) for f in form.option_fields()]
    while options and not options[-1]:
        options.pop()
    if not qtype.has_options:
        if any(options):
            form.option_a.errors.append(_("判断题不应有选项，请清空选项或改为选择题"))
            return False
        options = []
    answer = qtype.normalise_answer(form.answer.data, len(options))
    candidate = ParsedQuestion(qtype=qtype.code, stem=clean_text(form.stem.data), options=options, answer=answer)
    errors = check_question(candidate)
    if errors:
        form.answer.errors.extend(errors)
        return False
    image_id = question.image_id if question else None
    upload = form.image.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read(files.IMAGE_MAX_BYTES + 1)
        try:
            media_type = files.check_image(data)
        except files.FileRejected as exc:
            form.image.errors.append(str(exc))
            return False
        stored = files.store(data, media_type, upload.filename, current_user.id)
        db.session.flush()
        image_id = stored.id
    elif form.remove_image.data:
        image_id = None
    changes = {
        "qtype": candidate.qtype, "stem": candidate.stem, "options": candidate.options, "answer": candidate.answer,
        "explanation": clean_text(form.explanation.data), "source": clean_text(form.source.data),
        "difficulty": form.difficulty.data or None, "tags": split_tags(form.tags.data or ""), "image_id": image_id,
    }
    if question is None:
        question = Question(bank_id=bank.id, status="active", version=1, times_answered=0, times_correct=0)
        update_question(question, **changes)
        db.session.add(question)
        record("create", question, summary=candidate.stem[:100])
        flash(_("已添加题目"), "success")
    else:
        bumped = update_question(question, **changes)
        record("update", question, summary=candidate.stem[:100], version=question.version)
        flash(_("已保存为新版本（第 %(v)d 版）；已用过旧版本的考试记录保持不变", v=question.version) if bumped
              else _("已保存"), "success")
    db.session.commit()
    return True


@bp.route("/questions/<int:question_id>/status", methods=["POST"])
@role_required(*service.AUTHOR_ROLES)
def question_status(question_id: int):
    question = _question_or_404(question_id, edit=True)
    if not ConfirmImportForm().validate_on_submit():
        abort(400)
    question.status = "active" if question.status == "retired" else "retired"
    record("retire" if question.status == "retired" else "restore", question, summary=question.stem[:100])
    db.session.commit()
    flash(_("题目已停用，不会再被抽到") if question.status == "retired" else _("题目已恢复使用"), "info")
    return redirect(request.form.get("back") if _safe_back(request.form.get("back"))
                    else url_for("questionbank.bank", bank_id=question.bank_id))


def _safe_back(url: str | None) -> bool:
    return bool(url) and url.startswith("/banks/") and "//" not in url and "\\" not in url


@bp.route("/questions/<int:question_id>/image")
@role_required(*service.VIEW_ROLES)
def question_image(question_id: int):
    question = _question_or_404(question_id)
    if question.image_id is None:
        abort(404)
    return files.image_response(question.image_id)


# --- import ------------------------------------------------------------------

def _fill_upload_form(form: UploadForm) -> None:
    form.fmt.choices = opts(FORMAT_LABELS.items())
    banks = db.session.scalars(service.editable_banks(current_user)).all()
    form.bank_id.choices = opts([(NEW_BANK, _("（新建题库）"))] + [(b.id, b.name) for b in banks])


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@bp.route("/import", methods=["GET", "POST"])
@role_required(*service.AUTHOR_ROLES)
def upload():
    form = UploadForm()
    _fill_upload_form(form)
    if request.method == "GET" and request.args.get("bank", type=int):
        form.bank_id.data = request.args.get("bank", type=int)
    if form.validate_on_submit():
        limit = current_app.config["IMPORT_MAX_BYTES"]
        data = form.file.data.read(limit + 1)
        filename = form.file.data.filename or "upload"
        if len(data) > limit:
            form.file.errors.append(_("文件超过 %(mb)d MB，请拆分后再上传", mb=limit // (1024 * 1024)))
        elif form.bank_id.data == NEW_BANK and form.new_bank_name.data and service.find_bank(form.new_bank_name.data):
            form.new_bank_name.errors.append(_("已有同名题库；要导入到该题库，请在上方选择它"))
        else:
            context = json.dumps({"bank_id": form.bank_id.data or None,
                                  "bank_name": (form.new_bank_name.data or "").strip(), "fmt": form.fmt.data},
                                 ensure_ascii=False)
            up = uploads.keep(current_user.id, UPLOAD_KIND, filename, data, context=context)
            db.session.commit()
            target = url_for("questionbank.preview", token=up.token)
            return jsonify(next=target) if _wants_json() else redirect(target)
    if _wants_json() and request.method == "POST":
        errors = [f"{field.label.text}：{msg}" for field in form for msg in field.errors]
        return jsonify(errors=errors), 422
    return render_template("questionbank/upload.html", form=form)


def _load_pending(token: str):
    """The stored upload, its target bank (None for a new bank) and the parsed plan; None when gone."""
    up = uploads.fetch(token, current_user.id, UPLOAD_KIND)
    if up is None:
        return None
    context = json.loads(up.context or "{}")
    bank = None
    if context.get("bank_id"):
        bank = db.session.get(QuestionBank, context["bank_id"])
        if bank is None or not service.may_edit(current_user, bank):
            return None
    result = formats.parse(up.data, up.filename, context.get("fmt") or "auto")
    plan = service.plan_import(result, bank)
    name = bank.name if bank else (context.get("bank_name") or (result.bank or {}).get("name")
                                   or service.name_from_filename(up.filename) or _("导入的题库"))
    return up, bank, name, plan


@bp.route("/import/<token>")
@role_required(*service.AUTHOR_ROLES)
def preview(token: str):
    loaded = _load_pending(token)
    if loaded is None:
        flash(_("预览已过期，请重新上传"), "warning")
        return redirect(url_for("questionbank.upload"))
    up, bank, name, plan = loaded
    pager = ListPage.of(len(plan.items), request.args.get("page", 1, type=int), PREVIEW_PER_PAGE)
    shown = plan.items[(pager.page - 1) * PREVIEW_PER_PAGE: pager.page * PREVIEW_PER_PAGE]
    remarks: dict[str, list[str]] = {}
    for p in plan.result.warnings:
        remarks.setdefault(p.ref, []).append(p.message)
    name_clash = bank is None and service.find_bank(name) is not None
    return render_template("questionbank/preview.html", up=up, bank=bank, bank_name=name, plan=plan,
                           shown=shown, preview_page=pager, remarks=remarks, types=REGISTRY,
                           letters=LETTERS, form=ConfirmImportForm(), name_clash=name_clash,
                           answer_display=_answer_display)


@bp.route("/import/<token>", methods=["POST"])
@role_required(*service.AUTHOR_ROLES)
def confirm(token: str):
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    loaded = _load_pending(token)
    if loaded is None:
        flash(_("预览已过期，请重新上传"), "warning")
        return redirect(url_for("questionbank.upload"))
    up, bank, name, plan = loaded
    if plan.blocked(form.skip_unsupported.data):
        flash(_("文件有错误或包含不支持的题型，未导入任何题目"), "danger")
        return redirect(url_for("questionbank.preview", token=token))
    if bank is None:
        if service.find_bank(name) is not None:
            flash(_("已有同名题库“%(name)s”，请重新上传并选择该题库或换一个名称", name=name), "danger")
            return redirect(url_for("questionbank.preview", token=token))
        bank = service.new_bank(name, current_user.id, plan.result.bank)
    count = service.commit_import(plan, bank, include_duplicates=form.include_duplicates.data)
    record("import", bank, summary=f"{bank.name}: +{count}", file=up.filename, questions=count,
           duplicates_skipped=0 if form.include_duplicates.data else plan.duplicates)
    db.session.delete(up)
    db.session.commit()
    flash(_("已导入 %(n)d 道题", n=count), "success")
    return redirect(url_for("questionbank.bank", bank_id=bank.id))
