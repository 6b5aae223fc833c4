"""Special workers' external permits (特种作业操作证): records and the expiry and review dashboard.

Validity and review follow 《特种作业人员安全技术培训考核管理规定》 (DOMAIN §4): valid 6 years,
reviewed every 3 years. Both dates are filled in from the issue date unless given.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import enterprise_criterion, get_enterprise, may_edit_enterprise
from trainapp.certificates.models import Permit
from trainapp.certificates.service import today
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.org.models import Enterprise, Person

bp = Blueprint("permits", __name__, url_prefix="/permits")
VIEW_ROLES = ("admin", "manager", "enterprise_admin", "regulator")
EDIT_ROLES = ("admin", "manager", "enterprise_admin")
VALID_YEARS = 6
REVIEW_YEARS = 3


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


class PermitForm(FlaskForm):
    person_id = SelectField(_l("持证人"), coerce=int, validators=[DataRequired()])
    operation_type = StringField(_l("作业类别"), validators=[DataRequired(), Length(max=100)],
                                 description=_l("如：电工作业、焊接与热切割作业、高处作业"))
    number = StringField(_l("证书编号"), validators=[DataRequired(), Length(max=60)])
    authority = StringField(_l("发证机关"), validators=[Optional(), Length(max=100)])
    issued_on = DateField(_l("初领/发证日期"), validators=[DataRequired()])
    valid_until = DateField(_l("有效期至"), validators=[Optional()], description=_l("不填则按 6 年计算"))
    next_review_on = DateField(_l("下次复审日期"), validators=[Optional()], description=_l("不填则按 3 年计算"))
    submit = SubmitField(_l("保存"))


def status_of(permit: Permit, on: dt.date, days: int = 60) -> str:
    """expired / review_overdue / expiring / review_due / valid."""
    if permit.valid_until < on:
        return "expired"
    if permit.next_review_on and permit.next_review_on < on:
        return "review_overdue"
    if permit.valid_until <= on + dt.timedelta(days=days):
        return "expiring"
    if permit.next_review_on and permit.next_review_on <= on + dt.timedelta(days=days):
        return "review_due"
    return "valid"


@bp.route("/")
@role_required(*VIEW_ROLES)
def index():
    on = today()
    days = min(max(request.args.get("days", 60, type=int), 1), 3650)
    stmt = (select(Permit).join(Enterprise, Enterprise.id == Permit.enterprise_id)
            .where(enterprise_criterion(current_user)))
    if request.args.get("enterprise", type=int):
        stmt = stmt.where(Permit.enterprise_id == request.args.get("enterprise", type=int))
    horizon = on + dt.timedelta(days=days)
    show = request.args.get("show", "attention")
    if show == "attention":
        stmt = stmt.where((Permit.valid_until <= horizon) | (Permit.next_review_on <= horizon))
    stmt = stmt.order_by(Permit.valid_until, Permit.id)
    page = db.paginate(stmt, per_page=50, error_out=False)
    editable = [e for e in db.session.scalars(select(Enterprise).where(
        enterprise_criterion(current_user, EDIT_ROLES)).order_by(Enterprise.name).limit(200))]
    return render_template("certificates/permits.html", page=page, on=on, days=days, show=show,
                           status_of=status_of, editable=editable, form=FlaskForm())


def _people_choices(ent: Enterprise):
    people = db.session.scalars(select(Person).where(Person.enterprise_id == ent.id, Person.status == "active")
                                .order_by(Person.audience != "special_worker", Person.name)).all()
    return opts((p.id, f"{p.name}（{p.mobile or '—'}）") for p in people)


@bp.route("/enterprises/<int:enterprise_id>/new", methods=["GET", "POST"])
@bp.route("/<int:permit_id>/edit", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def edit(enterprise_id: int | None = None, permit_id: int | None = None):
    permit = db.session.get(Permit, permit_id) if permit_id else None
    if permit_id and permit is None:
        abort(404)
    ent = get_enterprise(permit.enterprise_id if permit else enterprise_id, current_user)
    if not may_edit_enterprise(current_user, ent.id):
        abort(403)
    form = PermitForm(obj=permit)
    form.person_id.choices = _people_choices(ent)
    if form.validate_on_submit():
        issued = form.issued_on.data
        valid_until = form.valid_until.data or (add_years(issued, VALID_YEARS) - dt.timedelta(days=1))
        review = form.next_review_on.data or add_years(issued, REVIEW_YEARS)
        number = form.number.data.strip()
        clash = db.session.scalar(select(Permit.id).where(Permit.person_id == form.person_id.data,
                                                          Permit.number == number))
        if issued > today():
            form.issued_on.errors.append(_("发证日期不能晚于今天"))
        elif valid_until <= issued:
            form.valid_until.errors.append(_("有效期应晚于发证日期"))
        elif clash is not None and (permit is None or clash != permit.id):
            form.number.errors.append(_("此人已登记该编号的证书"))
        else:
            is_new = permit is None
            permit = permit or Permit(enterprise_id=ent.id)
            permit.person_id, permit.operation_type = form.person_id.data, form.operation_type.data.strip()
            permit.number, permit.authority = number, (form.authority.data or "").strip()
            permit.issued_on, permit.valid_until, permit.next_review_on = issued, valid_until, review
            db.session.add(permit)
            record("create" if is_new else "update", permit, summary=f"{ent.name} {permit.number}")
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("permits.index", enterprise=ent.id, show="all"))
    return render_template("certificates/permit_form.html", form=form, ent=ent, permit=permit)
