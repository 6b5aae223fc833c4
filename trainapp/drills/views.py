"""Drill pages: the status board, records, the drill form, files, imports, participants and rules.

Who sees what: every list and record is limited to enterprises in the user's scope
(enterprise_criterion); records are entered and changed by whoever administers the enterprise
(enterprise admins, managers in scope, admins); regulators read. Out-of-scope ids are 404s.
"""
from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from trainapp import uploads
from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import EDIT_ROLES, enterprise_criterion, get_enterprise, may_edit_enterprise, sector_family
from trainapp.drills import importer, operations, service
from trainapp.drills.forms import (
    KIND_LABELS, MATCH_LABELS, MONTH_LABELS, REVISION_LABELS, STATUS_LABELS, AttachForm, ConfirmForm, DrillForm,
    RuleForm, UploadForm, format_duration, parse_duration, value_problems,
)
from trainapp.drills.models import Drill, DrillAttachment, DrillParticipant, DrillRule
from trainapp.extensions import db, limiter
from trainapp.files import image_response
from trainapp.formutil import opts
from trainapp.labels import FLAG_LABELS, label
from trainapp.org.models import Enterprise, Sector, Street
from trainapp.paging import ListPage

bp = Blueprint("drills", __name__, url_prefix="/drills")
VIEW_ROLES = ("admin", "manager", "enterprise_admin", "regulator")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 50
IMPORT_KIND = "drills"
PEOPLE_KIND = "drill_people"


@bp.context_processor
def _labels():
    return {"drill_kind_labels": KIND_LABELS, "revision_labels": REVISION_LABELS, "drill_status_labels": STATUS_LABELS,
            "match_labels": MATCH_LABELS, "month_labels": MONTH_LABELS, "format_duration": format_duration}


# --- shared with other pages (home, archives) --------------------------------------------------

@bp.app_template_global("drill_status_labels_global")
def _status_labels():
    return STATUS_LABELS


@bp.app_template_global("person_drills")
def person_drills(person_id: int) -> list[tuple[Drill, str]]:
    """Drills a person is recorded as taking part in, newest first, with the enterprise's name."""
    return db.session.execute(select(Drill, Enterprise.name).join(DrillParticipant, DrillParticipant.drill_id == Drill.id)
                              .join(Enterprise, Enterprise.id == Drill.enterprise_id)
                              .where(DrillParticipant.person_id == person_id)
                              .order_by(Drill.held_on.desc(), Drill.id.desc())).all()


@bp.app_template_global("enterprise_drill_summary")
def enterprise_drill_summary(enterprise_id: int) -> dict:
    """An enterprise's drill status and its latest drills, for the enterprise archive (caller checked scope)."""
    status = service.enterprise_statuses([enterprise_id]).get(enterprise_id)
    drills = db.session.scalars(select(Drill).where(Drill.enterprise_id == enterprise_id)
                                .order_by(Drill.held_on.desc(), Drill.id.desc()).limit(10)).all()
    return {"status": status, "drills": drills, "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS,
            "revision_labels": REVISION_LABELS}


# --- helpers ---------------------------------------------------------------------------------

def _visible_drill(drill_id: int) -> Drill:
    """The drill if its enterprise is in the user's scope; 404 otherwise."""
    drill = db.session.scalar(select(Drill).join(Enterprise, Enterprise.id == Drill.enterprise_id)
                              .where(Drill.id == drill_id, enterprise_criterion(current_user)))
    if drill is None:
        abort(404)
    return drill


def _editable_drill(drill_id: int) -> Drill:
    drill = _visible_drill(drill_id)
    if not may_edit_enterprise(current_user, drill.enterprise_id):
        abort(403)
    return drill


def _edit_scope():
    return enterprise_criterion(current_user, EDIT_ROLES)


def _can_edit_any() -> bool:
    return db.session.scalar(select(Enterprise.id).where(_edit_scope()).limit(1)) is not None


def _flash_form_errors(form) -> None:
    for fld in form:
        for err in fld.errors:
            flash(f"{fld.label.text}：{err}", "danger")


def _filters(stmt):
    """Apply the street / sector / name filters from the query string to a SELECT over Enterprise."""
    if street_id := request.args.get("street", type=int):
        stmt = stmt.where(Enterprise.street_id == street_id)
    if sector_id := request.args.get("sector", type=int):
        stmt = stmt.where(Enterprise.sector_id.in_(sector_family(sector_id)))
    if q := request.args.get("q", "").strip():
        stmt = stmt.where(Enterprise.name.contains(q, autoescape=True))
    return stmt


def _filter_choices():
    in_scope = select(Enterprise.street_id).where(enterprise_criterion(current_user))
    streets = db.session.scalars(select(Street).where(Street.id.in_(in_scope)).order_by(Street.id)).all()
    sectors = db.session.scalars(select(Sector).order_by(Sector.id)).all()
    return streets, sectors


# --- the status board ---------------------------------------------------------------------------

@bp.route("/")
@role_required(*VIEW_ROLES)
def index():
    """Every enterprise in scope with its drill status; filter by street, sector, status, name."""
    on = service.today()
    criterion = _filters(select(Enterprise.id).where(enterprise_criterion(current_user))).whereclause
    statuses = service.statuses_where(criterion, on)
    counts = {s: 0 for s in service.STATUSES}
    for st in statuses:
        counts[st.code] += 1
    wanted = request.args.get("status")
    if wanted in service.STATUSES:
        statuses = [s for s in statuses if s.code == wanted]
    order = {code: i for i, code in enumerate(service.STATUSES)}
    statuses.sort(key=lambda s: (order[s.code], s.due_on, s.enterprise_id))
    page = ListPage.of(len(statuses), request.args.get("page", 1, type=int), PER_PAGE)
    shown = statuses[(page.page - 1) * PER_PAGE: page.page * PER_PAGE]
    ents = {e.id: e for e in db.session.scalars(select(Enterprise).options(
        selectinload(Enterprise.street), selectinload(Enterprise.sector))
        .where(Enterprise.id.in_([s.enterprise_id for s in shown])))}
    open_revisions = dict(db.session.execute(
        select(Drill.enterprise_id, func.count(Drill.id)).where(
            Drill.enterprise_id.in_(list(ents)), Drill.revision_state == "open").group_by(Drill.enterprise_id)).all())
    streets, sectors = _filter_choices()
    return render_template("drills/index.html", rows=[(s, ents[s.enterprise_id]) for s in shown], counts=counts,
                           total=sum(counts.values()), page=page, on=on, streets=streets, sectors=sectors,
                           open_revisions=open_revisions, soon=service.soon_days(),
                           revision_total=service.open_revision_count(criterion),
                           can_edit=_can_edit_any())


@bp.route("/records")
@role_required(*VIEW_ROLES)
def records():
    """Drill records in scope, newest first; ?revision=open lists those whose plan revision is still open."""
    stmt = _filters(select(Drill).join(Enterprise, Enterprise.id == Drill.enterprise_id)
                    .where(enterprise_criterion(current_user)))
    if request.args.get("revision") == "open":
        stmt = stmt.where(Drill.revision_state == "open")
    if enterprise_id := request.args.get("enterprise", type=int):
        stmt = stmt.where(Drill.enterprise_id == enterprise_id)
    if year := request.args.get("year", type=int):
        stmt = stmt.where(Drill.held_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    page = db.paginate(stmt.options(selectinload(Drill.enterprise)).order_by(Drill.held_on.desc(), Drill.id.desc()),
                       per_page=PER_PAGE, error_out=False)
    streets, sectors = _filter_choices()
    return render_template("drills/records.html", page=page, streets=streets, sectors=sectors,
                           can_edit=_can_edit_any())


@bp.route("/enterprises/<int:enterprise_id>")
@role_required(*VIEW_ROLES)
def enterprise(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    rules = service.load_rules()
    status = service.enterprise_statuses([ent.id]).get(ent.id)
    drills = db.session.scalars(select(Drill).where(Drill.enterprise_id == ent.id)
                                .order_by(Drill.held_on.desc(), Drill.id.desc())).all()
    return render_template("drills/enterprise.html", ent=ent, status=status, drills=drills, on=service.today(),
                           basis=service.rules_for(ent, rules), can_edit=may_edit_enterprise(current_user, ent.id),
                           flag_labels=FLAG_LABELS)


# --- the drill form ----------------------------------------------------------------------------------

def _form_choices(form: DrillForm) -> None:
    ents = db.session.execute(select(Enterprise.id, Enterprise.name).where(_edit_scope())
                              .order_by(Enterprise.name, Enterprise.id)).all()
    form.enterprise_id.choices = opts(ents)
    form.kind.choices = opts(KIND_LABELS.items())
    form.revision_state.choices = opts(REVISION_LABELS.items())


def _form_values(form: DrillForm) -> dict:
    needed = bool(form.revision_needed.data)
    return {"held_on": form.held_on.data, "kind": form.kind.data, "scenario": form.scenario.data.strip(),
            "organiser": form.organiser.data.strip(), "departments": (form.departments.data or "").strip(),
            "participants": form.participants.data, "headcount_on_duty": form.headcount_on_duty.data,
            "evacuation_seconds": parse_duration(form.evacuation_time.data),
            "problems": (form.problems.data or "").strip(), "measures": (form.measures.data or "").strip(),
            "revision_state": form.revision_state.data if needed else None,
            "revision_closed_on": form.revision_closed_on.data if needed else None,
            "revision_notes": (form.revision_notes.data or "").strip() if needed else "",
            "signed_by": form.signed_by.data.strip(), "signed_on": form.signed_on.data}


def _check(form: DrillForm, drill: Drill | None) -> tuple[dict | None, list]:
    """Validate the form, the cross-field rules, duplicates and files; (values, files) or (None, [])."""
    if not form.validate_on_submit():
        return None, []
    ent = db.session.get(Enterprise, form.enterprise_id.data)
    values = _form_values(form)
    ok = True
    for name, message in value_problems(values, service.today(), ent.headcount if ent else None):
        getattr(form, name).errors.append(message)
        ok = False
    if ent is not None and values["held_on"] is not None:
        dup = operations.duplicate_of(ent.id, values["held_on"], values["kind"], drill.id if drill else None)
        if dup is not None:
            form.held_on.errors.append(_("%(name)s 在 %(date)s 已登记过一次%(kind)s，不能重复登记；如需补充请修改原记录",
                                         name=ent.name, date=values["held_on"], kind=KIND_LABELS[values["kind"]]))
            ok = False
    files, errors = operations.checked_files(form.photos.data, form.documents.data)
    if errors:
        form.photos.errors.extend(errors)
        ok = False
    elif len(files) > operations.attachment_room(drill):
        form.photos.errors.append(_("每次演练最多 %(n)d 个附件", n=operations.MAX_ATTACHMENTS))
        ok = False
    return (values, files) if ok else (None, [])


def _duplicate_error(form: DrillForm) -> None:
    form.held_on.errors.append(_("该单位在这一天已登记过同类型的演练，不能重复登记"))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def new():
    form = DrillForm()
    _form_choices(form)
    if not form.enterprise_id.choices:
        abort(403)
    if request.method == "GET":
        preset = request.args.get("enterprise", type=int)
        if preset:
            if preset not in {c.value for c in form.enterprise_id.choices}:
                abort(404)
            form.enterprise_id.data = preset
        form.held_on.data = form.signed_on.data = service.today()
    values, files = _check(form, None) if request.method == "POST" else (None, [])
    if values is not None:
        drill = Drill(enterprise_id=form.enterprise_id.data, source="form", created_by_id=current_user.id)
        operations.apply_values(drill, values)
        db.session.add(drill)
        try:
            db.session.flush()
        except IntegrityError:  # the same drill submitted twice at once: the unique constraint decides
            db.session.rollback()
            _form_choices(form)
            _duplicate_error(form)
            return render_template("drills/form.html", form=form, drill=None), 409
        operations.attach(drill, files, current_user.id)
        record("create", drill, summary=f"{drill.enterprise.name} {drill.held_on} {drill.kind}",
               files=len(files))
        db.session.commit()
        flash(_("演练记录已保存"), "success")
        return redirect(url_for("drills.detail", drill_id=drill.id))
    return render_template("drills/form.html", form=form, drill=None)


@bp.route("/<int:drill_id>/edit", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def edit(drill_id: int):
    drill = _editable_drill(drill_id)
    if request.method == "GET":
        form = DrillForm(obj=drill)
        form.evacuation_time.data = str(drill.evacuation_seconds or "")
        form.revision_needed.data = drill.revision_needed
        form.revision_state.data = drill.revision_state or "open"
    else:
        form = DrillForm()
    _form_choices(form)
    if request.method == "POST" and form.enterprise_id.data != drill.enterprise_id:
        form.enterprise_id.data = drill.enterprise_id  # a record stays with its enterprise
    values, files = _check(form, drill) if request.method == "POST" else (None, [])
    if values is not None:
        before = {f: getattr(drill, f) for f in operations.FIELDS}
        operations.apply_values(drill, values)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            _form_choices(form)
            _duplicate_error(form)
            return render_template("drills/form.html", form=form, drill=drill), 409
        operations.attach(drill, files, current_user.id)
        changed = {k: [str(v), str(getattr(drill, k))] for k, v in before.items() if getattr(drill, k) != v}
        record("update", drill, summary=f"{drill.enterprise.name} {drill.held_on}", changed=changed, files=len(files))
        db.session.commit()
        flash(_("演练记录已保存"), "success")
        return redirect(url_for("drills.detail", drill_id=drill.id))
    return render_template("drills/form.html", form=form, drill=drill)


@bp.route("/<int:drill_id>")
@role_required(*VIEW_ROLES)
def detail(drill_id: int):
    drill = _visible_drill(drill_id)
    can_edit = may_edit_enterprise(current_user, drill.enterprise_id)
    people = db.session.scalars(select(DrillParticipant).options(selectinload(DrillParticipant.person))
                                .where(DrillParticipant.drill_id == drill.id)
                                .order_by(DrillParticipant.at, DrillParticipant.id)).all()
    qr = url = None
    if can_edit and drill.signin_token:
        url = signin_url(drill)
        qr = qr_data_uri(url)
    return render_template("drills/detail.html", drill=drill, can_edit=can_edit, people=people,
                           attach_form=AttachForm() if can_edit else None, confirm_form=ConfirmForm(),
                           qr=qr, url=url, room=operations.attachment_room(drill))


@bp.route("/<int:drill_id>/delete", methods=["POST"])
@role_required(*EDIT_ROLES)
def delete(drill_id: int):
    drill = _editable_drill(drill_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    enterprise_id = drill.enterprise_id
    record("delete", drill, summary=f"{drill.enterprise.name} {drill.held_on} {drill.kind}",
           held_on=drill.held_on, kind=drill.kind, scenario=drill.scenario, participants=drill.participants)
    db.session.delete(drill)
    db.session.commit()
    flash(_("已删除演练记录"), "success")
    return redirect(url_for("drills.enterprise", enterprise_id=enterprise_id))


# --- files --------------------------------------------------------------------------------------------

@bp.route("/<int:drill_id>/files/<int:attachment_id>")
@role_required(*VIEW_ROLES)
def attachment(drill_id: int, attachment_id: int):
    drill = _visible_drill(drill_id)
    att = db.session.scalar(select(DrillAttachment).where(DrillAttachment.id == attachment_id,
                                                          DrillAttachment.drill_id == drill.id))
    if att is None:
        abort(404)
    if att.kind == "photo":
        return image_response(att.file_id)
    return send_file(io.BytesIO(att.file.data), mimetype="application/pdf", as_attachment=True,
                     download_name=att.file.filename or f"drill-{drill.id}.pdf", max_age=0)


@bp.route("/<int:drill_id>/files", methods=["POST"])
@role_required(*EDIT_ROLES)
def attach(drill_id: int):
    drill = _editable_drill(drill_id)
    form = AttachForm()
    back = redirect(url_for("drills.detail", drill_id=drill.id))
    if not form.validate_on_submit():
        abort(400)
    files, errors = operations.checked_files(form.photos.data, form.documents.data)
    for err in errors:
        flash(err, "danger")
    if errors or not files:
        if not errors:
            flash(_("请选择要上传的照片或 PDF 文件"), "warning")
        return back
    if len(files) > operations.attachment_room(drill):
        flash(_("每次演练最多 %(n)d 个附件", n=operations.MAX_ATTACHMENTS), "danger")
        return back
    operations.attach(drill, files, current_user.id)
    record("attach", drill, summary=f"{drill.enterprise.name} {drill.held_on}", files=len(files))
    db.session.commit()
    flash(_("已上传 %(n)d 个附件", n=len(files)), "success")
    return back


@bp.route("/<int:drill_id>/files/<int:attachment_id>/delete", methods=["POST"])
@role_required(*EDIT_ROLES)
def detach(drill_id: int, attachment_id: int):
    drill = _editable_drill(drill_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    att = db.session.scalar(select(DrillAttachment).where(DrillAttachment.id == attachment_id,
                                                          DrillAttachment.drill_id == drill.id))
    if att is None:
        abort(404)
    record("detach", drill, summary=f"{drill.enterprise.name} {drill.held_on}", file=att.file.filename)
    db.session.delete(att.file)
    db.session.delete(att)
    db.session.commit()
    flash(_("已删除附件"), "success")
    return redirect(url_for("drills.detail", drill_id=drill.id))


# --- import of drill records -----------------------------------------------------------------------

def _max_bytes() -> int:
    return current_app.config["IMPORT_MAX_BYTES"]


def _read_upload(form) -> bytes | None:
    data = form.file.data.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        form.file.errors.append(_("文件超过 %(mb)d MB 上限", mb=_max_bytes() // (1024 * 1024)))
        return None
    return data


@bp.route("/template.xlsx")
@role_required(*EDIT_ROLES)
def template():
    return send_file(io.BytesIO(importer.template_xlsx()), mimetype=XLSX_MIME, as_attachment=True,
                     download_name="drill-template.xlsx")


@bp.route("/import", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def upload():
    """Upload drill records and see every row's problems before anything is written."""
    form = UploadForm()
    if form.validate_on_submit() and (data := _read_upload(form)) is not None:
        filename = form.file.data.filename or "upload"
        result = importer.parse_drills(data, filename, current_user, _edit_scope(), service.today())
        token = None
        if result.ok:
            token = uploads.keep(current_user.id, IMPORT_KIND, filename, data).token
            db.session.commit()
        return render_template("drills/preview.html", result=result, token=token, filename=filename,
                               confirm_form=ConfirmForm())
    return render_template("drills/upload.html", form=form)


@bp.route("/import/<token>", methods=["POST"])
@role_required(*EDIT_ROLES)
def confirm(token: str):
    """Check the stored file again and write every row, or none."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    up = uploads.fetch(token, current_user.id, IMPORT_KIND)
    if up is None:
        flash(_("预览已过期或已导入，请重新上传"), "warning")
        return redirect(url_for("drills.upload"))
    result = importer.parse_drills(up.data, up.filename, current_user, _edit_scope(), service.today())
    if not result.ok:
        return render_template("drills/preview.html", result=result, token=None, filename=up.filename,
                               confirm_form=ConfirmForm())
    try:
        drills = importer.apply_drills(result, current_user.id)
    except IntegrityError:  # someone recorded one of these drills between the check and now
        db.session.rollback()
        flash(_("其中有演练刚刚被登记，请重新上传"), "warning")
        return redirect(url_for("drills.upload"))
    db.session.delete(up)
    record("import", drills[0], summary=_("导入演练记录 %(n)d 条", n=len(drills)), count=len(drills),
           drill_ids=[d.id for d in drills])
    db.session.commit()
    flash(_("已导入 %(n)d 条演练记录", n=len(drills)), "success")
    return redirect(url_for("drills.records"))


# --- participants: list import and QR sign-in ----------------------------------------------------------

@bp.route("/people-template.xlsx")
@role_required(*EDIT_ROLES)
def people_template():
    return send_file(io.BytesIO(importer.people_template_xlsx()), mimetype=XLSX_MIME, as_attachment=True,
                     download_name="drill-participants.xlsx")


@bp.route("/<int:drill_id>/people", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def people_upload(drill_id: int):
    drill = _editable_drill(drill_id)
    form = UploadForm()
    if form.validate_on_submit() and (data := _read_upload(form)) is not None:
        filename = form.file.data.filename or "upload"
        result = importer.parse_people(data, filename, drill)
        token = None
        if result.ok:
            token = uploads.keep(current_user.id, PEOPLE_KIND, filename, data, context=str(drill.id)).token
            db.session.commit()
        return render_template("drills/people_preview.html", drill=drill, result=result, token=token,
                               filename=filename, confirm_form=ConfirmForm())
    return render_template("drills/people_upload.html", drill=drill, form=form)


@bp.route("/<int:drill_id>/people/<token>", methods=["POST"])
@role_required(*EDIT_ROLES)
def people_confirm(drill_id: int, token: str):
    drill = _editable_drill(drill_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    up = uploads.fetch(token, current_user.id, PEOPLE_KIND)
    if up is None or up.context != str(drill.id):
        flash(_("预览已过期或已导入，请重新上传"), "warning")
        return redirect(url_for("drills.people_upload", drill_id=drill.id))
    result = importer.parse_people(up.data, up.filename, drill)
    if not result.ok:
        return render_template("drills/people_preview.html", drill=drill, result=result, token=None,
                               filename=up.filename, confirm_form=ConfirmForm())
    count = importer.apply_people(result, drill)
    if count != len(result.rows):  # someone signed in meanwhile
        db.session.rollback()
        flash(_("名单中有人刚刚完成签到，请重新上传"), "warning")
        return redirect(url_for("drills.people_upload", drill_id=drill.id))
    db.session.delete(up)
    record("import_participants", drill, summary=_("导入参演人员 %(n)d 人", n=count), count=count)
    db.session.commit()
    flash(_("已登记参演人员 %(n)d 人", n=count), "success")
    return redirect(url_for("drills.detail", drill_id=drill.id))


def signin_url(drill: Drill) -> str:
    return f"{current_app.config['TRAINAPP_BASE_URL']}/drills/signin/{drill.signin_token}"


def qr_data_uri(url: str) -> str:
    import base64

    from trainapp.certificates.pdf import qr_svg

    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode("ascii")


@bp.route("/<int:drill_id>/signin-code", methods=["POST"])
@role_required(*EDIT_ROLES)
def signin_code(drill_id: int):
    """Turn on QR sign-in for the drill (a random token, made once)."""
    import secrets

    drill = _editable_drill(drill_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not drill.signin_token:
        drill.signin_token = secrets.token_urlsafe(16)
        record("signin_code", drill, summary=f"{drill.enterprise.name} {drill.held_on}")
        db.session.commit()
    return redirect(url_for("drills.detail", drill_id=drill.id) + "#signin")


SIGNIN_MESSAGES = {
    "signed": lambda d: _("签到成功，本次演练已计入您的培训档案"),
    "already": lambda d: _("您已签到，无需重复签到"),
    "no_person": lambda d: _("您的账号没有关联人员信息，不能签到"),
    "wrong_unit": lambda d: _("本次演练仅限%(unit)s的人员签到", unit=d.enterprise.name),
    "inactive": lambda d: _("您的人员状态不是在职，不能签到"),
    "closed": lambda d: _("本次演练只能在演练当天及次日签到（%(d)s）", d=d.held_on),
    "full": lambda d: _("签到人数已达本次演练的在岗人数，请联系组织人"),
}


@bp.route("/signin/<token>", methods=["GET", "POST"])
@limiter.limit("20/minute", methods=["POST"])
@login_required
def signin(token: str):
    drill = db.session.scalar(select(Drill).where(Drill.signin_token == token))
    if drill is None:
        abort(404)
    person = current_user.person
    form = ConfirmForm()
    status = operations.signin_refusal(drill, person, service.today())
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if status is None:
            if operations.add_participant(drill, person, "qr"):
                record("signin", drill, summary=f"{drill.enterprise.name} {drill.held_on}: {person.name}",
                       person_id=person.id)
                db.session.commit()
                flash(SIGNIN_MESSAGES["signed"](drill), "success")
            return redirect(url_for("drills.signin", token=token))
    if status == "already":
        code = 200
    elif status in ("closed", "full"):
        code = 409
    else:
        code = 403 if status else 200
    return render_template("drills/signin.html", drill=drill, status=status, form=form,
                           message=SIGNIN_MESSAGES[status](drill) if status else None), code


# --- rules ------------------------------------------------------------------------------------------

def _rule_form(obj=None) -> RuleForm:
    form = RuleForm(obj=obj)
    form.match.choices = opts(MATCH_LABELS.items())
    form.flag.choices = opts([("", "—")] + [(f, label(FLAG_LABELS, f)) for f in service.RULE_FLAGS])
    form.sector_id.choices = opts([(0, "—")] + db.session.execute(select(Sector.id, Sector.name)
                                                                   .order_by(Sector.id)).all())
    form.months.choices = opts(MONTH_LABELS.items())
    if obj is not None and not form.is_submitted():
        form.flag.data = obj.flag or ""
        form.sector_id.data = obj.sector_id or 0
    return form


def _rule_values(form: RuleForm) -> dict | None:
    match = form.match.data
    values = {"match": match, "flag": None, "sector_id": None, "months": form.months.data,
              "source": form.source.data.strip(), "active": bool(form.active.data)}
    if match == "flag":
        if form.flag.data not in service.RULE_FLAGS:
            form.flag.errors.append(_("请选择单位标识"))
            return None
        values["flag"] = form.flag.data
    if match == "sector":
        if not form.sector_id.data or db.session.get(Sector, form.sector_id.data) is None:
            form.sector_id.errors.append(_("请选择行业领域"))
            return None
        values["sector_id"] = form.sector_id.data
    return values


def _rule_summary(rule: DrillRule) -> str:
    what = label(FLAG_LABELS, rule.flag) if rule.match == "flag" else (
        rule.sector.name if rule.match == "sector" and rule.sector else label(MATCH_LABELS, rule.match))
    return f"{what}: {rule.months}"


@bp.route("/rules", methods=["GET", "POST"])
@role_required(*VIEW_ROLES)
def rules():
    is_admin = current_user.has_role("admin")
    if request.method == "POST" and not is_admin:
        abort(403)
    form = _rule_form() if is_admin else None
    if is_admin and form.validate_on_submit() and (values := _rule_values(form)) is not None:
        rule = DrillRule(**values)
        db.session.add(rule)
        db.session.flush()
        record("create", rule, summary=_rule_summary(rule))
        db.session.commit()
        flash(_("已添加"), "success")
        return redirect(url_for("drills.rules"))
    rows = db.session.scalars(select(DrillRule).options(selectinload(DrillRule.sector))
                              .order_by(DrillRule.months.desc(), DrillRule.id)).all()
    return render_template("drills/rules.html", rules=rows, form=form, is_admin=is_admin, flag_labels=FLAG_LABELS,
                           defaults_in_use=not any(r.active for r in rows))


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def rule_edit(rule_id: int):
    rule = db.session.get(DrillRule, rule_id)
    if rule is None:
        abort(404)
    form = _rule_form(rule)
    if form.validate_on_submit() and (values := _rule_values(form)) is not None:
        before = {k: getattr(rule, k) for k in values}
        for k, v in values.items():
            setattr(rule, k, v)
        record("update", rule, summary=_rule_summary(rule),
               changed={k: [str(v), str(values[k])] for k, v in before.items() if v != values[k]})
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("drills.rules"))
    return render_template("drills/rule_form.html", form=form, rule=rule)


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@role_required("admin")
def rule_delete(rule_id: int):
    rule = db.session.get(DrillRule, rule_id)
    if rule is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    record("delete", rule, summary=_rule_summary(rule), match=rule.match, flag=rule.flag, sector_id=rule.sector_id,
           months=rule.months, source=rule.source)
    db.session.delete(rule)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("drills.rules"))


@bp.route("/rules/seed", methods=["POST"])
@role_required("admin")
def rules_seed():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    added = service.seed_rules()
    for rule in added:
        record("create", rule, summary=_rule_summary(rule), seeded=True)
    db.session.commit()
    flash(_("已补齐 %(n)d 条默认规则", n=len(added)), "success")
    return redirect(url_for("drills.rules"))


@bp.cli.command("seed-rules")
def seed_rules_command() -> None:
    """Add the default drill-frequency rules that are missing (flask drills seed-rules)."""
    import click

    added = service.seed_rules()
    db.session.commit()
    click.echo(f"added {len(added)} drill rules")



@bp.app_template_global("drill_kind_labels_global")
def _kind_labels():
    return KIND_LABELS
