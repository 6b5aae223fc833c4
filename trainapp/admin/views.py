"""Administration: users and their roles, streets, sectors, the audit log."""
from __future__ import annotations

import datetime as dt
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from trainapp.admin.forms import GrantForm, SectorForm, SimpleForm, StreetForm, UserForm
from trainapp.audit import AuditEvent, record
from trainapp.auth.decorators import role_required
from trainapp.auth.models import ROLES, RoleGrant, User
from trainapp.extensions import db
from trainapp.labels import ROLE_LABELS
from trainapp.org.models import Agency, District, Enterprise, Sector, Street
from trainapp.org.validators import normalise_credit_code
from trainapp.formutil import opts

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@role_required("admin")
def users():
    q = request.args.get("q", "").strip()
    stmt = select(User).order_by(User.id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.like(like), User.mobile.like(like), User.display_name.like(like)))
    role = request.args.get("role")
    if role in ROLES:
        stmt = stmt.where(User.id.in_(select(RoleGrant.user_id).where(RoleGrant.role == role)))
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, form=UserForm())


@bp.route("/users", methods=["POST"])
@role_required("admin")
def user_create():
    form = UserForm()
    if form.validate_on_submit():
        if not form.username.data and not form.mobile.data:
            form.username.errors.append(_("用户名和手机号至少填写一项"))
        for field in (form.username, form.mobile):
            if field.data and db.session.scalar(select(User.id).where(getattr(User, field.name) == field.data)):
                field.errors.append(_("已被其他账号使用"))
        if not form.username.errors and not form.mobile.errors:
            temp = secrets.token_urlsafe(9)
            user = User(username=form.username.data or None, mobile=form.mobile.data or None,
                        display_name=form.display_name.data.strip(), must_change_password=True)
            user.set_password(temp)
            db.session.add(user)
            record("create", user, summary=user.name)
            db.session.commit()
            flash(_("已创建账号，临时密码：%(pw)s（首次登录须修改）", pw=temp), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    page = db.paginate(select(User).order_by(User.id), per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, form=form), 400


def _grant_form() -> GrantForm:
    form = GrantForm()
    form.role.choices = opts([(r, str(ROLE_LABELS[r])) for r in ROLES])
    none = [(0, "—")]
    form.district_id.choices = opts(none + [(d.id, d.name) for d in db.session.scalars(select(District))])
    form.street_id.choices = opts(none + [(s.id, s.name) for s in db.session.scalars(select(Street).order_by(Street.id))])
    form.sector_id.choices = opts(none + [(s.id, s.name) for s in db.session.scalars(select(Sector).order_by(Sector.id))])
    form.agency_id.choices = opts(none + [(a.id, a.name) for a in db.session.scalars(select(Agency).order_by(Agency.id))])
    return form


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
def user(user_id: int):
    target = db.get_or_404(User, user_id)
    form = _grant_form()
    if form.validate_on_submit():
        grant = _grant_from_form(form)
        if grant is not None:
            target.grants.append(grant)
            record("grant_role", target, summary=f"{target.name}: {grant.role}", role=grant.role,
                   street_id=grant.street_id, sector_id=grant.sector_id, district_id=grant.district_id,
                   enterprise_id=grant.enterprise_id, agency_id=grant.agency_id)
            db.session.commit()
            flash(_("已授予角色"), "success")
            return redirect(url_for("admin.user", user_id=target.id))
    return render_template("admin/user.html", target=target, form=form, action_form=SimpleForm())


def _grant_from_form(form: GrantForm) -> RoleGrant | None:
    """Build a grant, insisting on the scope each role needs."""
    role = form.role.data
    grant = RoleGrant(role=role, district_id=form.district_id.data or None, street_id=form.street_id.data or None,
                      sector_id=form.sector_id.data or None, agency_id=form.agency_id.data or None)
    if role == "manager" and not (grant.district_id or grant.street_id or grant.sector_id):
        form.role.errors.append(_("管理人员须指定范围：区、街道或行业领域"))
        return None
    if role == "enterprise_admin":
        code = normalise_credit_code(form.enterprise_code.data or "")
        ent = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code)) if code else None
        if ent is None:
            form.enterprise_code.errors.append(_("请填写已登记企业的统一社会信用代码"))
            return None
        grant.enterprise_id = ent.id
    if role == "regulator" and not (grant.agency_id or grant.street_id or grant.sector_id or grant.district_id):
        form.agency_id.errors.append(_("监管执法人员须指定所属部门或范围"))
        return None
    return grant


@bp.route("/users/<int:user_id>/grants/<int:grant_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke(user_id: int, grant_id: int):
    grant = db.session.scalar(select(RoleGrant).filter_by(id=grant_id, user_id=user_id))
    if grant is None:
        abort(404)
    if grant.role == "admin" and grant.user_id == current_user.id:
        flash(_("不能撤销自己的管理员角色"), "danger")
        return redirect(url_for("admin.user", user_id=user_id))
    if not SimpleForm().validate_on_submit():
        abort(400)
    record("revoke_role", grant.user, summary=f"{grant.user.name}: {grant.role}", role=grant.role)
    db.session.delete(grant)
    db.session.commit()
    flash(_("已撤销角色"), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@role_required("admin")
def reset_password(user_id: int):
    target = db.get_or_404(User, user_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    temp = secrets.token_urlsafe(9)
    target.set_password(temp)
    target.must_change_password = True
    record("reset_password", target, summary=target.name)
    db.session.commit()
    flash(_("已重置密码，临时密码：%(pw)s（首次登录须修改）", pw=temp), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/toggle-active", methods=["POST"])
@role_required("admin")
def toggle_active(user_id: int):
    target = db.get_or_404(User, user_id)
    if not SimpleForm().validate_on_submit() or target.id == current_user.id:
        abort(400)
    target.is_active_account = not target.is_active_account
    record("activate" if target.is_active_account else "deactivate", target, summary=target.name)
    db.session.commit()
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/streets", methods=["GET", "POST"])
@role_required("admin")
def streets():
    form = StreetForm()
    form.district_id.choices = opts([(d.id, d.name) for d in db.session.scalars(select(District))])
    if form.validate_on_submit():
        name = form.name.data.strip()
        if db.session.scalar(select(Street.id).filter_by(district_id=form.district_id.data, name=name)):
            form.name.errors.append(_("该街道已存在"))
        else:
            street = Street(district_id=form.district_id.data, name=name, kind=form.kind.data)
            db.session.add(street)
            record("create", street, summary=name)
            db.session.commit()
            flash(_("已添加"), "success")
            return redirect(url_for("admin.streets"))
    rows = db.session.scalars(select(Street).order_by(Street.district_id, Street.id)).all()
    return render_template("admin/streets.html", rows=rows, form=form)


@bp.route("/sectors", methods=["GET", "POST"])
@role_required("admin")
def sectors():
    form = SectorForm()
    form.parent_id.choices = opts([(0, "—")] + [(s.id, s.name) for s in db.session.scalars(
        select(Sector).where(Sector.parent_id.is_(None)).order_by(Sector.id))])
    if form.validate_on_submit():
        if db.session.scalar(select(Sector.id).filter_by(code=form.code.data)):
            form.code.errors.append(_("该代码已存在"))
        else:
            sector = Sector(code=form.code.data, name=form.name.data.strip(), name_en=form.name_en.data or "",
                            parent_id=form.parent_id.data or None)
            db.session.add(sector)
            record("create", sector, summary=sector.name)
            db.session.commit()
            flash(_("已添加"), "success")
            return redirect(url_for("admin.sectors"))
    rows = db.session.scalars(select(Sector).order_by(Sector.id)).all()
    return render_template("admin/sectors.html", rows=rows, form=form)


@bp.route("/audit")
@role_required("admin")
def audit():
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action := request.args.get("action"):
        stmt = stmt.where(AuditEvent.action == action)
    if entity := request.args.get("entity"):
        stmt = stmt.where(AuditEvent.entity_type == entity)
    if actor := request.args.get("actor", type=int):
        stmt = stmt.where(AuditEvent.actor_id == actor)
    for arg, op in (("since", "__ge__"), ("until", "__lt__")):
        if value := request.args.get(arg):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                flash(_("日期格式应为 YYYY-MM-DD"), "warning")
                continue
            bound = dt.datetime.combine(day + dt.timedelta(days=1 if arg == "until" else 0), dt.time(),
                                        tzinfo=dt.timezone(dt.timedelta(hours=8)))
            stmt = stmt.where(getattr(AuditEvent.at, op)(bound))
    page = db.paginate(stmt, per_page=50, error_out=False)
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    entities = db.session.scalars(select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)).all()
    return render_template("admin/audit.html", page=page, actions=actions, entities=entities)
