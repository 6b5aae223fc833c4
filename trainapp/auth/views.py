"""Sign-in, sign-up, first-sign-in profile, password change."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from trainapp.audit import record
from trainapp.auth import claimed
from trainapp.auth import operations as ops
from trainapp.auth.forms import LoginForm, PasswordChangeForm, ProfileForm, SignupForm
from trainapp.auth.models import User
from trainapp.extensions import db, limiter, login_manager
from trainapp.labels import AUDIENCE_LABELS, EMPLOYMENT_LABELS
from trainapp.models import utcnow
from trainapp.org.models import Enterprise, Person, Sector, Street
from trainapp.formutil import opts

bp = Blueprint("auth", __name__, url_prefix="/auth")

# Learners declare themselves as one of these; leaders and regulators are set up by admins.
SELF_AUDIENCES = ("principal", "safety_manager", "special_worker", "staff")


_USER_WITH_PERSON_AND_GRANTS = (joinedload(User.person), joinedload(User.grants))


@login_manager.user_loader
def load_user(value: str):
    try:
        user_id, version = (int(x) for x in value.split(":", 1))
    except ValueError:
        return None
    if claimed.may_claim(value):  # the endpoint checks the account in its own statement
        return claimed.ClaimedUser(user_id, version)
    # Its person and role grants in the same query: nearly every page shows the name and checks roles.
    user = db.session.get(User, user_id, options=_USER_WITH_PERSON_AND_GRANTS)
    if user is None or user.session_version != version:
        return None
    return user


def _safe_next(target: str | None) -> str:
    """Only follow same-site relative redirects after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute;50 per hour", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = ops.find_user(form.login.data)
        if user is None or not user.check_password(form.password.data) or not user.is_active:
            form.password.errors.append(_("手机号/用户名或密码不正确"))
        else:
            login_user(user, remember=form.remember.data)
            user.last_login_at = utcnow()
            db.session.commit()
            if user.must_change_password:
                flash(_("请先修改管理员为您重置的密码"), "warning")
                return redirect(url_for("auth.password"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        if ops.find_user(form.mobile.data) is not None:
            form.mobile.errors.append(_("该手机号已注册，请直接登录"))
        else:
            user = ops.create_learner(form.mobile.data, form.password.data)
            db.session.commit()
            login_user(user)
            return redirect(url_for("auth.profile"))
    return render_template("auth/signup.html", form=form)


def _profile_choices(form: ProfileForm) -> None:
    form.street_id.choices = opts([(s.id, s.name) for s in db.session.scalars(select(Street).order_by(Street.id))])
    form.new_unit_sector_id.choices = opts([(0, "—")] + [
        (s.id, s.name) for s in db.session.scalars(select(Sector).order_by(Sector.id))])
    form.audience.choices = opts([(c, str(AUDIENCE_LABELS[c])) for c in SELF_AUDIENCES])
    form.employment_type.choices = opts([(c, str(v)) for c, v in EMPLOYMENT_LABELS.items()])


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def profile():
    """First sign-in: name, street and unit, then a request the unit's admin approves."""
    if not current_user.needs_profile:
        return redirect(url_for("main.home"))
    form = ProfileForm()
    _profile_choices(form)
    candidates: list[Enterprise] = []
    if form.validate_on_submit():
        enterprise, new_unit, candidates = _resolve_unit(form)
        if enterprise is not None or new_unit is not None:
            reg = ops.register_profile(
                current_user, name=form.name.data, street_id=form.street_id.data,
                audience=form.audience.data, employment_type=form.employment_type.data,
                id_number=(form.id_number.data or "").upper() or None,
                enterprise=enterprise, new_unit=new_unit)
            db.session.commit()
            if reg is None:
                flash(_("已关联到单位登记的人员信息"), "success")
            else:
                flash(_("已提交，等待单位管理员或街道审核"), "success")
            return redirect(url_for("main.home"))
    form.enterprise_id.choices = opts([(e.id, f"{e.name}（{e.credit_code}）") for e in candidates])
    return render_template("auth/profile.html", form=form, candidates=candidates)


def _resolve_unit(form: ProfileForm):
    """Find the unit the learner means; returns (enterprise, new_unit, candidates)."""
    street_id = form.street_id.data
    if form.enterprise_id.data:
        ent = db.session.get(Enterprise, form.enterprise_id.data)
        if ent is not None and ent.street_id == street_id:
            return ent, None, []
    if db.session.scalar(select(Person.id).where(Person.mobile == current_user.mobile)) is not None:
        person = db.session.scalar(select(Person).where(Person.mobile == current_user.mobile))
        if person.name != form.name.data.strip():
            form.name.errors.append(_("该手机号已由单位登记在其他姓名下，请联系单位管理员"))
            return None, None, []
        return person.enterprise, None, []
    matches = ops.match_units(street_id, form.unit.data)
    if len(matches) == 1 and matches[0].street_id != street_id:
        form.street_id.errors.append(_("该单位属于%(street)s，请核对所属街道", street=matches[0].street.name))
        return None, None, []
    if len(matches) == 1 and (matches[0].name == form.unit.data.strip()
                              or matches[0].credit_code == form.unit.data.strip().upper()):
        return matches[0], None, []
    if matches and not form.new_unit.data:
        form.enterprise_id.errors.append(_("找到多个相近的单位，请选择您的单位"))
        return None, None, matches
    if not form.new_unit.data:
        form.unit.errors.append(_("名录中未找到该单位；如确认无误，请勾选“申请新增”并填写信用代码和行业"))
        return None, None, []
    return _new_unit_request(form)


def _new_unit_request(form: ProfileForm):
    ok = True
    code = (form.new_unit_credit_code.data or "").strip().upper()
    if not code:
        form.new_unit_credit_code.errors.append(_("申请新增单位时必须填写统一社会信用代码"))
        ok = False
    elif db.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)):
        form.new_unit_credit_code.errors.append(_("该信用代码的单位已在名录中，请直接搜索选择"))
        ok = False
    if not form.new_unit_sector_id.data:
        form.new_unit_sector_id.errors.append(_("请选择行业领域"))
        ok = False
    if not ok:
        return None, None, []
    return None, {"name": form.unit.data.strip(), "credit_code": code,
                  "sector_id": form.new_unit_sector_id.data}, []


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("当前密码不正确"))
        else:
            current_user.set_password(form.password.data)
            current_user.must_change_password = False
            record("password_change", current_user, summary=current_user.name)
            db.session.commit()
            login_user(current_user)  # the old session id carried the previous version
            flash(_("密码已修改"), "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)
