"""Annual training plans (年度培训计划) of enterprises and of streets/sectors, planned against actual.

An enterprise admin plans for their enterprise; a manager plans for an enterprise in scope or for a
street and/or a sector in scope (no street: every street; no sector: every sector). Each item is a
month, a published course or a free topic, an optional audience and a planned headcount.

Actual, per item and month: the distinct people with a current (not corrected) TrainingRecord of
the plan's enterprise, or of the enterprises in its street/sector, in that month of the plan's year,
for the item's course, or, for a topic, any classroom record; of the item's audience when one is
given. The table shows every month, so training that slipped to another month is visible too.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, extract, false, func, or_, select, true
from wtforms import IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import enterprise_criterion, may_edit_enterprise, sector_family, street_criterion
from trainapp.courses import service
from trainapp.courses.models import Course, TrainingPlan, TrainingPlanItem, TrainingRecord
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.labels import AUDIENCE_LABELS, label
from trainapp.org.models import AUDIENCES, Enterprise, Person, Sector, Street

bp = Blueprint("plans", __name__, url_prefix="/plans")
VIEW_ROLES = ("admin", "manager", "enterprise_admin", "regulator")
EDIT_ROLES = ("admin", "manager", "enterprise_admin")
MONTHS = tuple(range(1, 13))


# --- who sees which plan --------------------------------------------------------------------

def plan_criterion(user, edit: bool = False):
    """Plans `user` may see (edit=True: may change): enterprise plans of units in scope, and area plans
    inside a manager grant's street/district and sector."""
    if user.has_role("admin"):
        return true()
    ent_roles = ("manager", "enterprise_admin") if edit else ("manager", "enterprise_admin", "regulator")
    crits = [TrainingPlan.enterprise_id.in_(select(Enterprise.id).where(enterprise_criterion(user, ent_roles)))]
    for g in user.grants:
        if g.role != "manager":
            continue
        parts = [TrainingPlan.enterprise_id.is_(None)]
        if g.street_id:
            parts.append(TrainingPlan.street_id == g.street_id)
        elif g.district_id:
            parts.append(or_(TrainingPlan.street_id.is_(None), TrainingPlan.street_id.in_(
                select(Street.id).where(Street.district_id == g.district_id))))
        if g.sector_id:
            parts.append(TrainingPlan.sector_id.in_(sector_family(g.sector_id)))
        if len(parts) > 1:
            crits.append(and_(*parts))
    return or_(*crits) if crits else false()


def get_plan(plan_id: int, user, edit: bool = False) -> TrainingPlan:
    """The plan if `user` may see it, else 404; with edit=True, 403 when they may see but not change it."""
    plan = db.session.scalar(select(TrainingPlan).where(TrainingPlan.id == plan_id, plan_criterion(user)))
    if plan is None:
        abort(404)
    if edit and not may_edit(user, plan):
        abort(403)
    return plan


def may_edit(user, plan: TrainingPlan) -> bool:
    return db.session.scalar(select(TrainingPlan.id).where(TrainingPlan.id == plan.id,
                                                           plan_criterion(user, edit=True))) is not None


# --- planned against actual -------------------------------------------------------------------

def plan_enterprises(plan: TrainingPlan):
    """The enterprise ids a plan covers, as a SELECT."""
    stmt = select(Enterprise.id)
    if plan.enterprise_id:
        return stmt.where(Enterprise.id == plan.enterprise_id)
    if plan.street_id:
        stmt = stmt.where(Enterprise.street_id == plan.street_id)
    if plan.sector_id:
        stmt = stmt.where(Enterprise.sector_id.in_(sector_family(plan.sector_id)))
    return stmt


def actual_by_month(plan: TrainingPlan, course_id: int | None, audience: str | None) -> dict[int, int]:
    """Distinct people trained per month of the plan's year for one (course or classroom, audience)."""
    month = extract("month", TrainingRecord.occurred_on)
    corrected = select(TrainingRecord.corrects_id).where(TrainingRecord.corrects_id.is_not(None))
    stmt = (select(month, func.count(func.distinct(TrainingRecord.person_id)))
            .where(TrainingRecord.enterprise_id.in_(plan_enterprises(plan)),
                   TrainingRecord.occurred_on.between(dt.date(plan.year, 1, 1), dt.date(plan.year, 12, 31)),
                   TrainingRecord.id.not_in(corrected))
            .group_by(month))
    if course_id:
        stmt = stmt.where(TrainingRecord.course_id == course_id)
    else:
        stmt = stmt.where(TrainingRecord.kind == "classroom")
    if audience:
        stmt = stmt.join(Person, Person.id == TrainingRecord.person_id).where(Person.audience == audience)
    return {int(m): int(n) for m, n in db.session.execute(stmt)}


def actuals(plan: TrainingPlan) -> dict[int, dict[int, int]]:
    """Per item: people trained per month (one query per distinct course/topic and audience)."""
    cache: dict[tuple, dict[int, int]] = {}
    out = {}
    for item in plan.items:
        key = (item.course_id, item.audience or None)
        if key not in cache:
            cache[key] = actual_by_month(plan, *key)
        out[item.id] = cache[key]
    return out


def table(plan: TrainingPlan) -> dict:
    """What the plan page shows: items with their actuals, and month totals (planned, actual in planned month)."""
    per_item = actuals(plan)
    planned = {m: 0 for m in MONTHS}
    actual = {m: 0 for m in MONTHS}
    rows = []
    for item in plan.items:
        months = per_item.get(item.id, {})
        planned[item.month] += item.planned_headcount
        actual[item.month] += months.get(item.month, 0)
        rows.append({"item": item, "months": months, "actual": months.get(item.month, 0)})
    return {"rows": rows, "planned": planned, "actual": actual}


# --- forms -------------------------------------------------------------------------------------

class PlanForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    title = StringField(_l("计划名称"), validators=[DataRequired(), Length(max=200)])
    enterprise_id = SelectField(_l("计划所属单位"), coerce=int, validators=[Optional()])
    street_id = SelectField(_l("街镇"), coerce=int, validators=[Optional()])
    sector_id = SelectField(_l("行业领域"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("保存"))


class PlanEditForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    title = StringField(_l("计划名称"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("保存"))


class ItemForm(FlaskForm):
    month = SelectField(_l("月份"), coerce=int, validators=[InputRequired()])
    course_id = SelectField(_l("课程"), coerce=int, validators=[Optional()])
    topic = StringField(_l("或自由主题（线下培训）"), validators=[Optional(), Length(max=200)])
    audience = SelectField(_l("培训对象"), validators=[Optional()])
    planned_headcount = IntegerField(_l("计划人数"), default=0,
                                     validators=[InputRequired(), NumberRange(min=0, max=1_000_000)])
    submit = SubmitField(_l("添加"))


def _item_form() -> ItemForm:
    form = ItemForm()
    form.month.choices = opts((m, _("%(m)d 月", m=m)) for m in MONTHS)
    courses = db.session.scalars(select(Course).where(Course.status == "published").order_by(Course.title)).all()
    form.course_id.choices = opts([(0, _("（自由主题）"))] + [(c.id, c.title) for c in courses])
    form.audience.choices = opts([("", _("不限"))] + [(c, label(AUDIENCE_LABELS, c)) for c in AUDIENCES])
    return form


def _plan_form() -> PlanForm:
    form = PlanForm()
    if not form.is_submitted():
        form.year.data = service.today().year
        form.enterprise_id.data = request.args.get("enterprise", 0, type=int)
    ents = db.session.scalars(select(Enterprise).where(enterprise_criterion(current_user, EDIT_ROLES))
                              .order_by(Enterprise.name).limit(500)).all()
    is_area_planner = current_user.has_role("admin", "manager")
    first = [(0, _("（按街镇/行业领域制定）"))] if is_area_planner else []
    form.enterprise_id.choices = opts(first + [(e.id, e.name) for e in ents])
    if is_area_planner:
        form.street_id.choices = opts([(0, _("全部街镇"))] + [(s.id, s.name) for s in db.session.scalars(
            select(Street).where(street_criterion(current_user)).order_by(Street.id))])
        form.sector_id.choices = opts([(0, _("全部行业领域"))] + [(s.id, s.name) for s in db.session.scalars(
            select(Sector).order_by(Sector.id))])
    else:
        del form.street_id
        del form.sector_id
    return form


def owner_name(plan: TrainingPlan) -> str:
    if plan.enterprise_id:
        return db.session.get(Enterprise, plan.enterprise_id).name
    parts = [db.session.get(Street, plan.street_id).name if plan.street_id else _("全部街镇"),
             db.session.get(Sector, plan.sector_id).name if plan.sector_id else _("全部行业领域")]
    return " · ".join(parts)


@bp.app_template_global("plan_owner_name")
def _owner_name_global(plan) -> str:
    return owner_name(plan)


# --- pages ---------------------------------------------------------------------------------------

@bp.route("/")
@role_required(*VIEW_ROLES)
def index():
    stmt = select(TrainingPlan).where(plan_criterion(current_user))
    year = request.args.get("year", type=int)
    if year:
        stmt = stmt.where(TrainingPlan.year == year)
    enterprise_id = request.args.get("enterprise", type=int)
    if enterprise_id:
        stmt = stmt.where(TrainingPlan.enterprise_id == enterprise_id)
    page = db.paginate(stmt.order_by(TrainingPlan.year.desc(), TrainingPlan.id.desc()), per_page=30,
                       error_out=False)
    this_year = service.today().year
    return render_template("courses/plans/index.html", page=page, years=range(this_year + 1, this_year - 5, -1),
                           can_create=current_user.has_role(*EDIT_ROLES))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def new():
    form = _plan_form()
    if form.validate_on_submit():
        plan = TrainingPlan(year=form.year.data, title=form.title.data.strip(), created_by_id=current_user.id)
        problem = None
        if form.enterprise_id.data:
            if not may_edit_enterprise(current_user, form.enterprise_id.data):
                abort(403)
            plan.enterprise_id = form.enterprise_id.data
        elif not current_user.has_role("admin", "manager"):
            problem = (form.enterprise_id, _("请选择单位"))
        else:
            plan.street_id = form.street_id.data or None
            plan.sector_id = form.sector_id.data or None
            if plan.street_id is None and plan.sector_id is None:
                problem = (form.street_id, _("请选择街镇或行业领域（至少一项）"))
        if problem is None:
            db.session.add(plan)
            db.session.flush()
            if not may_edit(current_user, plan):
                db.session.rollback()
                problem = (form.street_id, _("该街镇/行业领域不在您的管理范围内"))
            else:
                record("create", plan, summary=f"{plan.year} {plan.title} ({owner_name(plan)})")
                db.session.commit()
                flash(_("已创建计划，请添加计划项目"), "success")
                return redirect(url_for("plans.plan", plan_id=plan.id))
        field, message = problem
        field.errors.append(message)
    return render_template("courses/plans/form.html", form=form, plan=None)


@bp.route("/<int:plan_id>")
@role_required(*VIEW_ROLES)
def plan(plan_id: int):
    plan = get_plan(plan_id, current_user)
    can_edit = may_edit(current_user, plan)
    return render_template("courses/plans/plan.html", plan=plan, t=table(plan), months=MONTHS, can_edit=can_edit,
                           item_form=_item_form() if can_edit else None, owner=owner_name(plan))


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def edit(plan_id: int):
    plan = get_plan(plan_id, current_user, edit=True)
    form = PlanEditForm(obj=plan)
    if form.validate_on_submit():
        before = {"year": plan.year, "title": plan.title}
        plan.year, plan.title = form.year.data, form.title.data.strip()
        record("update", plan, summary=f"{plan.year} {plan.title}",
               changed={k: [v, getattr(plan, k)] for k, v in before.items() if getattr(plan, k) != v})
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("plans.plan", plan_id=plan.id))
    return render_template("courses/plans/form.html", form=form, plan=plan)


@bp.route("/<int:plan_id>/delete", methods=["POST"])
@role_required(*EDIT_ROLES)
def delete(plan_id: int):
    plan = get_plan(plan_id, current_user, edit=True)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record("delete", plan, summary=f"{plan.year} {plan.title} ({owner_name(plan)})", items=len(plan.items))
    db.session.delete(plan)
    db.session.commit()
    flash(_("已删除计划"), "success")
    return redirect(url_for("plans.index"))


@bp.route("/<int:plan_id>/items", methods=["POST"])
@role_required(*EDIT_ROLES)
def item_add(plan_id: int):
    plan = get_plan(plan_id, current_user, edit=True)
    form = _item_form()
    if form.validate_on_submit():
        topic = (form.topic.data or "").strip()
        course_id = form.course_id.data or None
        if course_id and topic:
            flash(_("课程和自由主题只能填写一项"), "danger")
        elif not course_id and not topic:
            flash(_("请选择课程或填写自由主题"), "danger")
        else:
            item = TrainingPlanItem(plan_id=plan.id, month=form.month.data, course_id=course_id, topic=topic,
                                    audience=form.audience.data or "", planned_headcount=form.planned_headcount.data)
            db.session.add(item)
            db.session.flush()
            record("create", item, summary=f"{plan.title}: {item.month} {item.course.title if item.course else topic}",
                   plan=plan.id)
            db.session.commit()
            flash(_("已添加"), "success")
    else:
        for field in form:
            for err in field.errors:
                flash(f"{field.label.text}：{err}", "danger")
    return redirect(url_for("plans.plan", plan_id=plan.id))


@bp.route("/<int:plan_id>/items/<int:item_id>/delete", methods=["POST"])
@role_required(*EDIT_ROLES)
def item_delete(plan_id: int, item_id: int):
    plan = get_plan(plan_id, current_user, edit=True)
    item = db.session.get(TrainingPlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record("delete", item, summary=f"{plan.title}: {item.month} {item.course.title if item.course else item.topic}",
           plan=plan.id, month=item.month, course=item.course_id, topic=item.topic,
           planned_headcount=item.planned_headcount)
    db.session.delete(item)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("plans.plan", plan_id=plan.id))
