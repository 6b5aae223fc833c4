"""The home page for each role, and the language switch."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from trainapp.auth.models import Registration, User
from trainapp.auth.scope import administered_enterprise_ids, enterprise_criterion, person_criterion
from trainapp.extensions import db
from trainapp.org import queries as org_queries
from trainapp.org.models import Enterprise, Person, Sector, Street

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.route("/home")
@login_required
def home():
    ctx: dict = {"roles": current_user.roles}
    if current_user.person_id:
        ctx["my_registration"] = db.session.scalar(
            select(Registration).where(Registration.user_id == current_user.id)
            .order_by(Registration.id.desc()).limit(1))
    if current_user.person_id:
        from trainapp.exams.service import available_exams, open_attempt

        ctx["my_exams"] = [(e, open_attempt(current_user.id, e.id)) for e in available_exams(current_user)]
        from trainapp.certificates.models import Certificate
        from trainapp.courses.service import hours_in_year, today
        from trainapp.courses.views import my_enrolments

        ctx["my_courses"] = [e for e in my_enrolments(current_user.person_id) if e.status == "active"][:5]
        ctx["year_hours"] = hours_in_year(current_user.person_id, today().year)
        ctx["today"] = today()

        ctx["my_certificates"] = db.session.scalars(select(Certificate).where(
            Certificate.user_id == current_user.id, Certificate.status == "valid")
            .order_by(Certificate.issued_on.desc()).limit(5)).all()
    ent_ids = administered_enterprise_ids(current_user)
    if ent_ids:
        ctx["my_enterprises"] = [
            (e, db.session.scalar(select(func.count(Person.id)).where(
                Person.enterprise_id == e.id, Person.status == "active")))
            for e in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ent_ids)))]
        from trainapp.drills.service import enterprise_statuses

        ctx["drill_statuses"] = enterprise_statuses(ent_ids)
    if current_user.has_role("enterprise_admin", "manager", "admin"):
        ctx["pending_count"] = db.session.scalar(
            select(func.count()).select_from(org_queries.pending_registrations(current_user).subquery()))
    if current_user.has_role("manager", "regulator", "admin"):
        ctx["enterprise_count"] = db.session.scalar(
            select(func.count(Enterprise.id)).where(enterprise_criterion(current_user)))
        ctx["person_count"] = db.session.scalar(
            select(func.count(Person.id)).where(person_criterion(current_user)))
        from trainapp.coverage.service import next_report_due, today as report_today

        ctx["report_due"] = next_report_due(report_today())
        from trainapp.drills.service import drill_status_counts, open_revision_count

        ctx["drill_counts"] = drill_status_counts(enterprise_criterion(current_user))
        ctx["drill_open_revisions"] = open_revision_count(enterprise_criterion(current_user))
    if current_user.has_role("trainer", "admin"):
        from trainapp.questionbank.models import Question, QuestionBank

        owned = QuestionBank.owner_id == current_user.id
        ctx["my_banks"] = db.session.execute(
            select(QuestionBank, func.count(Question.id))
            .outerjoin(Question, (Question.bank_id == QuestionBank.id) & (Question.status == "active"))
            .where(owned).group_by(QuestionBank.id).order_by(QuestionBank.name)).all()
        ctx["bank_count"] = db.session.scalar(select(func.count(QuestionBank.id)))
    if current_user.has_role("admin"):
        ctx["user_count"] = db.session.scalar(select(func.count(User.id)))
        ctx["street_count"] = db.session.scalar(select(func.count(Street.id)))
        ctx["sector_count"] = db.session.scalar(select(func.count(Sector.id)))
    return render_template("main/home.html", **ctx)


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    """Remember the chosen UI language and go back where the user was."""
    if code in ("zh_CN", "en"):
        session["lang"] = code
    target = request.form.get("next") or url_for("main.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.index")
    return redirect(target)


@bp.route("/healthz")
def healthz():
    db.session.execute(select(1))
    return {"status": "ok"}
