"""Enterprises, people, departments, staff import and registration approvals."""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from trainapp import uploads
from trainapp.audit import record
from trainapp.auth import operations as auth_ops
from trainapp.auth.decorators import role_required
from trainapp.auth.models import Registration
from trainapp.auth.scope import (
    get_enterprise, get_person, may_edit_enterprise, street_criterion,
)
from trainapp.extensions import db
from trainapp.labels import AUDIENCE_LABELS, EMPLOYMENT_LABELS, STATUS_LABELS
from trainapp.org import queries, staff_import
from trainapp.org.forms import ConfirmForm, DecisionForm, DepartmentForm, EnterpriseForm, PersonForm, UploadForm
from trainapp.org.models import Department, Enterprise, Person, Sector, Street
from trainapp.org.validators import normalise_credit_code
from trainapp.formutil import opts

bp = Blueprint("org", __name__, url_prefix="/org")
VIEW_ROLES = ("admin", "manager", "enterprise_admin", "regulator")
EDIT_ROLES = ("admin", "manager", "enterprise_admin")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value or None


def _street_choices():
    return [(s.id, s.name) for s in db.session.scalars(
        select(Street).where(street_criterion(current_user)).order_by(Street.id))]


def _sector_choices():
    return [(s.id, s.name) for s in db.session.scalars(select(Sector).order_by(Sector.id))]


@bp.route("/enterprises")
@role_required(*VIEW_ROLES)
def enterprises():
    stmt = queries.enterprises(current_user, q=request.args.get("q", "").strip(),
                               street_id=_int_arg("street"), sector_id=_int_arg("sector"),
                               flag=request.args.get("flag"))
    page = db.paginate(stmt, per_page=30, error_out=False)
    return render_template("org/enterprises.html", page=page, streets=_street_choices(),
                           sectors=_sector_choices())


@bp.route("/enterprises/<int:enterprise_id>")
@role_required(*VIEW_ROLES)
def enterprise(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    counts = dict(db.session.execute(
        select(Person.audience, func.count(Person.id))
        .where(Person.enterprise_id == ent.id, Person.status == "active").group_by(Person.audience)).all())
    return render_template("org/enterprise.html", ent=ent, counts=counts,
                           can_edit=may_edit_enterprise(current_user, ent.id),
                           can_classify=current_user.has_role("admin", "manager"),
                           dept_form=DepartmentForm())


def _fill_enterprise_choices(form: EnterpriseForm) -> None:
    form.street_id.choices = opts(_street_choices())
    form.sector_id.choices = opts(_sector_choices())


@bp.route("/enterprises/new", methods=["GET", "POST"])
@role_required("admin", "manager")
def enterprise_new():
    form = EnterpriseForm()
    _fill_enterprise_choices(form)
    if form.validate_on_submit() and _enterprise_unique(form, None):
        ent = Enterprise()
        _apply_enterprise_form(form, ent)
        db.session.add(ent)
        db.session.flush()
        if not may_edit_enterprise(current_user, ent.id):
            db.session.rollback()
            form.sector_id.errors.append(_("该行业领域不在您的管理范围内"))
        else:
            record("create", ent, summary=ent.name)
            db.session.commit()
            flash(_("已添加单位"), "success")
            return redirect(url_for("org.enterprise", enterprise_id=ent.id))
    return render_template("org/enterprise_form.html", form=form, ent=None)


@bp.route("/enterprises/<int:enterprise_id>/edit", methods=["GET", "POST"])
@role_required("admin", "manager")
def enterprise_edit(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    if not may_edit_enterprise(current_user, ent.id):
        abort(403)
    form = EnterpriseForm(obj=ent)
    _fill_enterprise_choices(form)
    if form.validate_on_submit() and _enterprise_unique(form, ent.id):
        before = {f: getattr(ent, f) for f in ("name", "credit_code", "street_id", "sector_id", *Enterprise.FLAGS)}
        _apply_enterprise_form(form, ent)
        db.session.flush()
        if not may_edit_enterprise(current_user, ent.id):
            db.session.rollback()
            form.street_id.errors.append(_("修改后的单位不在您的管理范围内"))
        else:
            changed = {k: [v, getattr(ent, k)] for k, v in before.items() if getattr(ent, k) != v}
            record("update", ent, summary=ent.name, changed=changed)
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("org.enterprise", enterprise_id=ent.id))
    return render_template("org/enterprise_form.html", form=form, ent=ent)


def _enterprise_unique(form: EnterpriseForm, own_id: int | None) -> bool:
    code = normalise_credit_code(form.credit_code.data)
    other = db.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code))
    if other is not None and other != own_id:
        form.credit_code.errors.append(_("该统一社会信用代码已登记"))
        return False
    return True


def _apply_enterprise_form(form: EnterpriseForm, ent: Enterprise) -> None:
    ent.name = form.name.data.strip()
    ent.credit_code = normalise_credit_code(form.credit_code.data)
    ent.street_id = form.street_id.data
    ent.sector_id = form.sector_id.data
    ent.address = (form.address.data or "").strip()
    ent.headcount = form.headcount.data or 0
    for flag in Enterprise.FLAGS:
        setattr(ent, flag, bool(getattr(form, flag).data))


@bp.route("/enterprises/<int:enterprise_id>/departments", methods=["POST"])
@role_required(*EDIT_ROLES)
def department_add(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    if not may_edit_enterprise(current_user, ent.id):
        abort(403)
    form = DepartmentForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        if any(d.name == name for d in ent.departments):
            flash(_("部门“%(name)s”已存在", name=name), "warning")
        else:
            dep = Department(enterprise_id=ent.id, name=name)
            db.session.add(dep)
            record("create", dep, summary=f"{ent.name} / {name}")
            db.session.commit()
            flash(_("已添加部门"), "success")
    else:
        for err in form.name.errors:
            flash(err, "danger")
    return redirect(url_for("org.enterprise", enterprise_id=ent.id))


@bp.route("/people")
@role_required(*VIEW_ROLES)
def people():
    enterprise_id = _int_arg("enterprise")
    ent = get_enterprise(enterprise_id, current_user) if enterprise_id else None
    stmt = queries.people(current_user, q=request.args.get("q", "").strip(), enterprise_id=enterprise_id,
                          audience=request.args.get("audience") or None,
                          employment_type=request.args.get("employment") or None,
                          status=request.args.get("status") or None)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("org/people.html", page=page, ent=ent,
                           can_edit=bool(ent and may_edit_enterprise(current_user, ent.id)))


@bp.route("/people/<int:person_id>")
@role_required(*VIEW_ROLES)
def person(person_id: int):
    p = get_person(person_id, current_user)
    can_edit = p.enterprise_id is not None and may_edit_enterprise(current_user, p.enterprise_id)
    return render_template("org/person.html", p=p, can_edit=can_edit)


def _person_form(ent: Enterprise, obj: Person | None = None) -> PersonForm:
    form = PersonForm(obj=obj)
    form.audience.choices = opts([(c, v) for c, v in AUDIENCE_LABELS.items()
                                  if c in staff_import.ENTERPRISE_AUDIENCES])
    form.employment_type.choices = opts([(c, str(v)) for c, v in EMPLOYMENT_LABELS.items()])
    form.department_id.choices = opts([(0, "—")] + [(d.id, d.name) for d in ent.departments])
    form.status.choices = opts([(c, str(STATUS_LABELS[c])) for c in ("active", "left")])
    return form


@bp.route("/enterprises/<int:enterprise_id>/people/new", methods=["GET", "POST"])
@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def person_edit(enterprise_id: int | None = None, person_id: int | None = None):
    p = get_person(person_id, current_user) if person_id else None
    ent = get_enterprise(p.enterprise_id if p else enterprise_id, current_user) if (p is None or p.enterprise_id) else None
    if ent is None or not may_edit_enterprise(current_user, ent.id):
        abort(403)
    form = _person_form(ent, p)
    if form.validate_on_submit():
        mobile = form.mobile.data.strip()
        clash = db.session.scalar(select(Person.id).where(Person.mobile == mobile))
        if clash is not None and (p is None or clash != p.id):
            form.mobile.errors.append(_("该手机号已登记"))
        else:
            is_new = p is None
            p = p or Person(enterprise_id=ent.id)
            p.name, p.mobile = form.name.data.strip(), mobile
            p.id_number = (form.id_number.data or "").upper() or None
            p.audience, p.employment_type = form.audience.data, form.employment_type.data
            p.department_id = form.department_id.data or None
            p.status, p.joined_on = form.status.data, form.joined_on.data
            db.session.add(p)
            record("create" if is_new else "update", p, summary=f"{p.name} ({ent.name})")
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("org.person", person_id=p.id))
    return render_template("org/person_form.html", form=form, ent=ent, p=p)


@bp.route("/staff-template.xlsx")
@role_required(*EDIT_ROLES)
def staff_template():
    return send_file(io.BytesIO(staff_import.template_xlsx()), mimetype=XLSX_MIME,
                     as_attachment=True, download_name="staff-template.xlsx")


@bp.route("/enterprises/<int:enterprise_id>/import", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def staff_upload(enterprise_id: int):
    """Upload a staff list and show every row's problems before anything is written."""
    ent = get_enterprise(enterprise_id, current_user)
    if not may_edit_enterprise(current_user, ent.id):
        abort(403)
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(current_app_max() + 1)
        if len(data) > current_app_max():
            form.file.errors.append(_("文件超过 %(mb)d MB 上限", mb=current_app_max() // (1024 * 1024)))
        else:
            filename = form.file.data.filename or "upload"
            result = staff_import.parse_staff(data, filename, ent)
            token = None
            if result.ok:
                token = uploads.keep(current_user.id, "staff", filename, data, context=str(ent.id)).token
                db.session.commit()
            return render_template("org/staff_preview.html", ent=ent, result=result, token=token,
                                   filename=filename, confirm_form=ConfirmForm(),
                                   labels_aud=AUDIENCE_LABELS, labels_emp=EMPLOYMENT_LABELS)
    return render_template("org/staff_upload.html", ent=ent, form=form)


def current_app_max() -> int:
    return current_app.config["IMPORT_MAX_BYTES"]


@bp.route("/enterprises/<int:enterprise_id>/import/<token>", methods=["POST"])
@role_required(*EDIT_ROLES)
def staff_confirm(enterprise_id: int, token: str):
    """Re-check the stored upload against today's registry and write it in one transaction."""
    ent = get_enterprise(enterprise_id, current_user)
    if not may_edit_enterprise(current_user, ent.id):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    up = uploads.fetch(token, current_user.id, "staff")
    if up is None or up.context != str(ent.id):
        flash(_("预览已过期，请重新上传"), "warning")
        return redirect(url_for("org.staff_upload", enterprise_id=ent.id))
    result = staff_import.parse_staff(up.data, up.filename, ent)
    if not result.ok:
        return render_template("org/staff_preview.html", ent=ent, result=result, token=None,
                               filename=up.filename, confirm_form=ConfirmForm(),
                               labels_aud=AUDIENCE_LABELS, labels_emp=EMPLOYMENT_LABELS)
    count = staff_import.apply_staff(result, ent)
    db.session.delete(up)
    db.session.commit()
    flash(_("已导入 %(n)d 人", n=count), "success")
    return redirect(url_for("org.people", enterprise=ent.id))


@bp.route("/registrations")
@role_required(*EDIT_ROLES)
def registrations():
    regs = db.session.scalars(queries.pending_registrations(current_user).limit(500)).all()
    return render_template("org/registrations.html", regs=regs, form=DecisionForm())


@bp.route("/registrations/<int:reg_id>", methods=["POST"])
@role_required(*EDIT_ROLES)
def registration_decide(reg_id: int):
    reg = db.session.scalar(select(Registration).where(
        Registration.id == reg_id, queries.registration_criterion(current_user)))
    if reg is None:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if reg.status != "pending":
        flash(_("该申请已处理"), "info")
    elif form.approve.data:
        if reg.enterprise_id is None and db.session.scalar(
                select(Enterprise.id).where(Enterprise.credit_code == reg.new_unit_credit_code)):
            flash(_("该信用代码的单位已在名录中，请驳回并让申请人选择已有单位"), "danger")
            return redirect(url_for("org.registrations"))
        auth_ops.approve_registration(reg, current_user)
        db.session.commit()
        flash(_("已通过 %(name)s 的申请", name=reg.person.name), "success")
    else:
        note = (form.note.data or "").strip()
        if not note:
            flash(_("驳回时请填写原因"), "danger")
            return redirect(url_for("org.registrations"))
        auth_ops.reject_registration(reg, current_user, note)
        db.session.commit()
        flash(_("已驳回 %(name)s 的申请", name=reg.person.name), "info")
    return redirect(url_for("org.registrations"))
