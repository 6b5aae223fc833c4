"""Training archives (培训档案): one per person (一人一档) and one per enterprise (一企一档); yearly status.

Every TrainingRecord is listed in date order with what it was, its 学时, teacher or course, result and
certificate number. Corrections are new records: the record they replace is shown struck through
with a link to its correction and the reason from the audit log, and stays unchanged in the
database. PDFs (A4, a plain table) and xlsx files carry the same lines.

Who sees an archive: the person themself; enterprise admins for their staff; managers and
regulators in scope; admins. Anyone else gets a 404. Corrections and re-training events (a change
of post, a return after a year or more away) are recorded by admins, managers and enterprise
admins who administer the unit.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, DateField, FloatField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from trainapp.audit import AuditEvent, record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import enterprise_criterion, get_enterprise, get_person, may_edit_enterprise, person_criterion
from trainapp.courses import compliance, service
from trainapp.courses.models import Course, PersonEvent, Requirement, TrainingRecord
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.labels import AUDIENCE_LABELS, label
from trainapp.org.models import AUDIENCES, Enterprise, Person, Sector, Street
from trainapp.paging import ListPage

bp = Blueprint("archive", __name__, url_prefix="/archive")
VIEW_ROLES = ("admin", "manager", "enterprise_admin", "regulator")
EDIT_ROLES = ("admin", "manager", "enterprise_admin")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 100
PDF_MAX_ROWS = 2000

KIND_LABELS = {
    "lesson": _l("课时学习"),
    "course": _l("课程完成"),
    "classroom": _l("线下集中培训"),
    "exam": _l("线上考试"),
    "correction": _l("更正"),
}
RULE_KIND_LABELS = {"initial": _l("初次/再培训"), "annual": _l("年度再培训")}
REASON_LABELS = {"joined": _l("当年入职"), "post_change": _l("调整岗位"), "return": _l("离岗一年以上重新上岗")}
EVENT_LABELS = {"post_change": _l("调整岗位"), "return": _l("离岗一年以上重新上岗")}
STATUS_LABELS = {"met": _l("达标"), "short": _l("未达标"), "not_started": _l("未开始"), "none": _l("无年度要求")}


def status_text(st: compliance.Status) -> str:
    if st.code == "short":
        return _("差 %(n)s 学时", n=f"{st.shortfall:g}")
    return str(STATUS_LABELS[st.code])


@bp.app_template_global("archive_status_text")
def _status_text_global(st) -> str:
    return status_text(st)


@bp.context_processor
def _labels():
    return {"status_labels": STATUS_LABELS, "rule_kind_labels": RULE_KIND_LABELS, "reason_labels": REASON_LABELS,
            "event_labels": EVENT_LABELS, "kind_labels": KIND_LABELS}


# --- helpers -----------------------------------------------------------------------------

def _year() -> int:
    year = request.args.get("year", type=int)
    this_year = service.today().year
    if year is None or not 2000 <= year <= this_year + 1:
        return this_year
    return year


def _years() -> list[int]:
    this_year = service.today().year
    return list(range(this_year + 1, this_year - 6, -1))


def may_edit_person(user, person: Person) -> bool:
    """Whether `user` records corrections and events for this person (regulators and learners only read)."""
    if user.has_role("admin"):
        return True
    if person.enterprise_id is not None:
        return may_edit_enterprise(user, person.enterprise_id)
    if person.agency_id is not None and user.has_role("manager"):
        return db.session.scalar(select(Person.id).where(Person.id == person.id, person_criterion(user))) is not None
    return False


def _xlsx(sheets: dict, name: str):
    """An xlsx download: {sheet title: (rows, column headers)}; openpyxl's streaming writer (all rows, fast)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for title, (rows, columns) in sheets.items():
        ws = wb.create_sheet(title[:31])
        ws.append(columns)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return send_file(io.BytesIO(buf.getvalue()), mimetype=XLSX_MIME, as_attachment=True, download_name=name,
                     max_age=0)


def _pdf(**context) -> bytes:
    from trainapp.pdfdoc import html_to_pdf

    return html_to_pdf(render_template("courses/archive/document.html", **context))


def _send_pdf(data: bytes, name: str):
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name,
                     max_age=0)


# --- archive lines ---------------------------------------------------------------------------

@dataclass
class Line:
    """One record of an archive, as shown: with its course, certificate and correction links."""
    id: int
    person_id: int
    person_name: str
    occurred_on: dt.date
    kind: str
    title: str
    content: str
    hours: float
    teacher: str
    course_title: str | None
    result: str
    certificate_number: str | None
    corrects_id: int | None
    corrected_by: int | None = None
    reason: str = ""  # for a correction: why; for a corrected record: why it was corrected

    @property
    def kind_label(self) -> str:
        return label(KIND_LABELS, self.kind)

    @property
    def teacher_or_course(self) -> str:
        return self.teacher or self.course_title or ""

    @property
    def current(self) -> bool:
        return self.corrected_by is None


def _lines_statement(*where):
    from trainapp.certificates.models import Certificate

    return (select(TrainingRecord.id, TrainingRecord.person_id, Person.name.label("person_name"),
                   TrainingRecord.occurred_on, TrainingRecord.kind, TrainingRecord.title, TrainingRecord.content,
                   TrainingRecord.hours, TrainingRecord.teacher, Course.title.label("course_title"),
                   TrainingRecord.result, Certificate.number.label("certificate_number"),
                   TrainingRecord.corrects_id)
            .join(Person, Person.id == TrainingRecord.person_id)
            .outerjoin(Course, Course.id == TrainingRecord.course_id)
            .outerjoin(Certificate, Certificate.id == TrainingRecord.certificate_id)
            .where(*where)
            .order_by(TrainingRecord.occurred_on, TrainingRecord.id))


def _lines(where: list, limit: int | None = None, offset: int = 0) -> list[Line]:
    """Archive lines matching `where`, in date order, with corrections linked both ways."""
    stmt = _lines_statement(*where)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    lines = [Line(**row._asdict()) for row in db.session.execute(stmt)]
    if not lines:
        return lines
    ids = select(TrainingRecord.id).join(Person, Person.id == TrainingRecord.person_id).where(*where)
    corrected_by = dict(db.session.execute(select(TrainingRecord.corrects_id, TrainingRecord.id).where(
        TrainingRecord.corrects_id.in_(ids)).order_by(TrainingRecord.id)).all())
    for line in lines:
        line.corrected_by = corrected_by.get(line.id)
    correction_ids = {line.corrected_by for line in lines if line.corrected_by} | {
        line.id for line in lines if line.corrects_id}
    if correction_ids:
        reasons = {e.entity_id: str((e.details or {}).get("reason", "")) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "correct", AuditEvent.entity_type == "training_record",
                                     AuditEvent.entity_id.in_(correction_ids)))}
        for line in lines:
            key = line.corrected_by or (line.id if line.corrects_id else None)
            line.reason = reasons.get(key, "") if key else ""
    return lines


def _line_columns(with_person: bool) -> list[str]:
    cols = [_("编号"), _("日期")]
    if with_person:
        cols.append(_("姓名"))
    return cols + [_("培训内容"), _("说明"), _("类型"), _("学时"), _("讲师/课程"), _("结果"), _("证书编号"),
                   _("更正的记录"), _("已被更正为"), _("更正原因")]


def _line_rows(lines: list[Line], with_person: bool) -> list[list]:
    rows = []
    for ln in lines:
        row = [ln.id, ln.occurred_on]
        if with_person:
            row.append(ln.person_name)
        rows.append(row + [ln.title, ln.content, ln.kind_label, ln.hours, ln.teacher_or_course, ln.result,
                           ln.certificate_number or "", ln.corrects_id or "", ln.corrected_by or "", ln.reason])
    return rows


def _hours_by_year(lines: list[Line]) -> list[tuple[int, float]]:
    totals: dict[int, float] = {}
    for ln in lines:
        if ln.current:
            totals[ln.occurred_on.year] = totals.get(ln.occurred_on.year, 0.0) + ln.hours
    return sorted(((y, round(h, 2)) for y, h in totals.items()), reverse=True)


# --- forms ---------------------------------------------------------------------------------

class EventForm(FlaskForm):
    kind = SelectField(_l("事由"), validators=[DataRequired()])
    on = DateField(_l("日期"), validators=[DataRequired()])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("登记"))


class CorrectionForm(FlaskForm):
    reason = TextAreaField(_l("更正原因"), validators=[DataRequired(), Length(max=300)])
    title = StringField(_l("培训内容"), validators=[DataRequired(), Length(max=200)])
    occurred_on = DateField(_l("日期"), validators=[DataRequired()])
    hours = FloatField(_l("学时"), validators=[InputRequired(), NumberRange(min=0, max=1000)])
    result = StringField(_l("结果"), validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("保存更正"))


class RequirementForm(FlaskForm):
    audience = SelectField(_l("人员类别"), validators=[DataRequired()])
    high_risk = BooleanField(_l("适用于高危行业单位"))
    kind = SelectField(_l("类型"), validators=[DataRequired()])
    hours = FloatField(_l("学时"), validators=[InputRequired(), NumberRange(min=0.5, max=1000)])
    source = StringField(_l("依据"), validators=[DataRequired(), Length(max=300)])
    submit = SubmitField(_l("保存"))


def _event_form() -> EventForm:
    form = EventForm()
    form.kind.choices = opts(EVENT_LABELS.items())
    return form


# --- a person's archive --------------------------------------------------------------------------

def _person_page(person: Person):
    year = _year()
    rules = compliance.Rules.load()
    lines = _lines([TrainingRecord.person_id == person.id])
    events = db.session.scalars(select(PersonEvent).where(PersonEvent.person_id == person.id)
                                .order_by(PersonEvent.on.desc(), PersonEvent.id.desc())).all()
    can_edit = may_edit_person(current_user, person)
    return render_template("courses/archive/person.html", person=person, year=year, years=_years(),
                           status=compliance.person_status(person, year, rules), lines=lines,
                           totals=_hours_by_year(lines), events=events, can_edit=can_edit,
                           event_form=_event_form() if can_edit else None, own=person.id == current_user.person_id)


@bp.route("/me")
@login_required
def me():
    person = current_user.person
    if person is None:
        return render_template("courses/archive/person.html", person=None, year=_year(), years=_years())
    return _person_page(person)


@bp.route("/people/<int:person_id>")
@login_required
def person(person_id: int):
    return _person_page(get_person(person_id, current_user))


@bp.route("/people/<int:person_id>.xlsx")
@login_required
def person_xlsx(person_id: int):
    person = get_person(person_id, current_user)
    lines = _lines([TrainingRecord.person_id == person.id])
    return _xlsx({_("培训档案"): (_line_rows(lines, False), _line_columns(False))}, f"archive-person-{person.id}.xlsx")


@bp.route("/people/<int:person_id>.pdf")
@login_required
def person_pdf(person_id: int):
    person = get_person(person_id, current_user)
    lines = _lines([TrainingRecord.person_id == person.id])
    facts = [(_("姓名"), person.name), (_("工作单位"), person.unit_name),
             (_("人员类别"), label(AUDIENCE_LABELS, person.audience)),
             (_("身份证号"), person.id_number_masked or "—"),
             (_("入职日期"), person.joined_on.isoformat() if person.joined_on else "—")]
    data = _pdf(title=_("培训档案（一人一档）"), facts=facts, lines=lines, with_person=False,
                totals=_hours_by_year(lines), printed_on=service.today())
    return _send_pdf(data, f"archive-person-{person.id}.pdf")


@bp.route("/people/<int:person_id>/events", methods=["POST"])
@role_required(*EDIT_ROLES)
def person_event(person_id: int):
    person = get_person(person_id, current_user)
    if not may_edit_person(current_user, person):
        abort(403)
    form = _event_form()
    if form.validate_on_submit():
        if form.on.data > service.today():
            flash(_("日期不能晚于今天"), "danger")
        else:
            event = PersonEvent(person_id=person.id, kind=form.kind.data, on=form.on.data,
                                note=(form.note.data or "").strip(), created_by_id=current_user.id)
            db.session.add(event)
            record("create", event, summary=f"{person.name}: {label(EVENT_LABELS, event.kind)} {event.on}",
                   person=person.id, kind=event.kind, on=event.on)
            db.session.commit()
            flash(_("已登记，当年按初次/再培训学时要求计算"), "success")
    else:
        for field in form:
            for err in field.errors:
                flash(f"{field.label.text}：{err}", "danger")
    return redirect(url_for("archive.person", person_id=person.id, year=request.form.get("year") or None))


# --- corrections ---------------------------------------------------------------------------------------

@bp.route("/records/<int:record_id>/correct", methods=["GET", "POST"])
@role_required(*EDIT_ROLES)
def correct(record_id: int):
    original = db.session.get(TrainingRecord, record_id)
    if original is None:
        abort(404)
    person = get_person(original.person_id, current_user)
    if not may_edit_person(current_user, person):
        abort(403)
    if original.enterprise_id and not current_user.has_role("admin") \
            and not may_edit_enterprise(current_user, original.enterprise_id):
        abort(403)  # a record made at a unit the user does not administer
    later = db.session.scalar(select(TrainingRecord.id).where(TrainingRecord.corrects_id == original.id)
                              .order_by(TrainingRecord.id.desc()).limit(1))
    if later is not None:
        flash(_("此记录已被更正，请更正最新的记录"), "warning")
        return redirect(url_for("archive.correct", record_id=later))
    form = CorrectionForm(obj=original)
    if form.validate_on_submit():
        changes = {}
        new_title, new_result = form.title.data.strip(), (form.result.data or "").strip()
        if new_title != original.title:
            changes["title"] = new_title
        if form.occurred_on.data != original.occurred_on:
            changes["occurred_on"] = form.occurred_on.data
        if round(form.hours.data, 2) != round(original.hours or 0.0, 2):
            changes["hours"] = round(form.hours.data, 2)
        if new_result != (original.result or ""):
            changes["result"] = new_result
        if form.occurred_on.data > service.today():
            form.occurred_on.errors.append(_("日期不能晚于今天"))
        elif not changes:
            form.title.errors.append(_("没有任何修改"))
        else:
            fixed = service.correct(original, current_user, form.reason.data.strip(), **changes)
            db.session.commit()
            flash(_("已更正，原记录保留在档案中"), "success")
            return redirect(url_for("archive.person", person_id=person.id, _anchor=f"rec-{fixed.id}"))
    return render_template("courses/archive/correct.html", form=form, record=original, person=person)


# --- an enterprise's archive ---------------------------------------------------------------------------------

def _enterprise_where(ent: Enterprise) -> list:
    where = [TrainingRecord.enterprise_id == ent.id]
    if (year := request.args.get("year", type=int)) and 1900 <= year <= 9999:
        where.append(TrainingRecord.occurred_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    if q := request.args.get("q", "").strip():
        where.append(Person.name.contains(q, autoescape=True))
    return where


def _count(where: list) -> int:
    return db.session.scalar(select(func.count(TrainingRecord.id))
                             .join(Person, Person.id == TrainingRecord.person_id).where(*where)) or 0


@bp.route("/enterprises/<int:enterprise_id>")
@login_required
def enterprise(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    where = _enterprise_where(ent)
    page = ListPage.of(_count(where), request.args.get("page", 1, type=int), PER_PAGE)
    lines = _lines(where, limit=PER_PAGE, offset=(page.page - 1) * PER_PAGE)
    return render_template("courses/archive/enterprise.html", ent=ent, lines=lines, page=page, years=_years(),
                           can_edit=may_edit_enterprise(current_user, ent.id))


@bp.route("/enterprises/<int:enterprise_id>.xlsx")
@login_required
def enterprise_xlsx(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    lines = _lines(_enterprise_where(ent))
    record("export", ent, summary=f"{ent.name} 培训档案", rows=len(lines))
    db.session.commit()
    return _xlsx({_("培训档案"): (_line_rows(lines, True), _line_columns(True))},
                 f"archive-enterprise-{ent.id}.xlsx")


@bp.route("/enterprises/<int:enterprise_id>.pdf")
@login_required
def enterprise_pdf(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    where = _enterprise_where(ent)
    if _count(where) > PDF_MAX_ROWS:
        flash(_("记录超过 %(n)d 条，请先按年度或姓名筛选，或导出 Excel", n=PDF_MAX_ROWS), "warning")
        return redirect(url_for("archive.enterprise", enterprise_id=ent.id, **request.args.to_dict()))
    lines = _lines(where)
    facts = [(_("单位名称"), ent.name), (_("统一社会信用代码"), ent.credit_code), (_("所属街道"), ent.street.name),
             (_("行业领域"), ent.sector.name)]
    if request.args.get("year"):
        facts.append((_("年度"), request.args.get("year")))
    data = _pdf(title=_("培训档案（一企一档）"), facts=facts, lines=lines, with_person=True, totals=[],
                printed_on=service.today())
    record("export", ent, summary=f"{ent.name} 培训档案 PDF", rows=len(lines))
    db.session.commit()
    return _send_pdf(data, f"archive-enterprise-{ent.id}.pdf")


# --- yearly compliance -----------------------------------------------------------------------------

def _compliance_rows(ent: Enterprise, year: int):
    status = request.args.get("status") or None
    department_id = request.args.get("department", type=int) or None
    audience = request.args.get("audience") or None
    if audience not in AUDIENCES:
        audience = None
    rows = compliance.statuses(year, [ent.id], department_id=department_id, audience=audience)
    counts = {s: 0 for s in compliance.STATUSES}
    for r in rows:
        counts[r.status.code] += 1
    if status in compliance.STATUSES:
        rows = [r for r in rows if r.status.code == status]
    return rows, counts


@bp.route("/enterprises/<int:enterprise_id>/compliance")
@login_required
def compliance_page(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    year = _year()
    rows, counts = _compliance_rows(ent, year)
    page = ListPage.of(len(rows), request.args.get("page", 1, type=int), PER_PAGE)
    departments = {d.id: d.name for d in ent.departments}
    return render_template("courses/archive/compliance.html", ent=ent, year=year, years=_years(),
                           rows=rows[(page.page - 1) * PER_PAGE: page.page * PER_PAGE], page=page, counts=counts,
                           departments=departments, total=sum(counts.values()),
                           can_edit=may_edit_enterprise(current_user, ent.id))


@bp.route("/enterprises/<int:enterprise_id>/compliance.xlsx")
@login_required
def compliance_xlsx(enterprise_id: int):
    ent = get_enterprise(enterprise_id, current_user)
    year = _year()
    rows, _counts = _compliance_rows(ent, year)
    departments = {d.id: d.name for d in ent.departments}
    columns = [_("姓名"), _("手机号"), _("部门"), _("人员类别"), _("入职日期"), _("高危行业单位"), _("适用要求"),
               _("要求学时"), _("已获学时"), _("状态"), _("依据")]
    data = [[r.name, r.mobile or "", departments.get(r.department_id, ""), label(AUDIENCE_LABELS, r.audience),
             r.joined_on, _("是") if r.high_risk else _("否"),
             label(RULE_KIND_LABELS, r.status.rule.kind) if r.status.rule else "",
             r.status.required, r.status.accrued, status_text(r.status),
             r.status.rule.source if r.status.rule else ""] for r in rows]
    record("export", ent, summary=f"{ent.name} {year} 学时达标情况", rows=len(rows))
    db.session.commit()
    return _xlsx({str(year): (data, columns)}, f"compliance-{ent.id}-{year}.xlsx")


@bp.route("/compliance")
@role_required(*VIEW_ROLES)
def summary():
    """Per enterprise in scope: how many staff met the year's requirement (one page of units at a time)."""
    year = _year()
    stmt = select(Enterprise).where(enterprise_criterion(current_user))
    if street_id := request.args.get("street", type=int):
        stmt = stmt.where(Enterprise.street_id == street_id)
    if sector_id := request.args.get("sector", type=int):
        from trainapp.auth.scope import sector_family

        stmt = stmt.where(Enterprise.sector_id.in_(sector_family(sector_id)))
    if q := request.args.get("q", "").strip():
        stmt = stmt.where(Enterprise.name.contains(q, autoescape=True))
    page = db.paginate(stmt.order_by(Enterprise.street_id, Enterprise.name, Enterprise.id), per_page=30,
                       error_out=False)
    ids = [e.id for e in page.items]
    counts = compliance.summary(compliance.statuses(year, ids)) if ids else {}
    streets = db.session.scalars(select(Street).where(Street.id.in_(
        select(Enterprise.street_id).where(enterprise_criterion(current_user)))).order_by(Street.id)).all()
    sectors = db.session.scalars(select(Sector).order_by(Sector.id)).all()
    return render_template("courses/archive/summary.html", page=page, counts=counts, year=year, years=_years(),
                           streets=streets, sectors=sectors)


# --- requirement rules (admin) -------------------------------------------------------------------------

def _requirement_form(obj=None) -> RequirementForm:
    form = RequirementForm(obj=obj)
    form.audience.choices = opts((c, label(AUDIENCE_LABELS, c)) for c in AUDIENCES)
    form.kind.choices = opts(RULE_KIND_LABELS.items())
    if obj is None and not form.is_submitted():
        form.source.data = compliance.SOURCE
    return form


def _rule_clash(form: RequirementForm, own_id: int | None) -> bool:
    clash = db.session.scalar(select(Requirement.id).where(
        Requirement.audience == form.audience.data, Requirement.high_risk == bool(form.high_risk.data),
        Requirement.kind == form.kind.data))
    if clash is not None and clash != own_id:
        form.kind.errors.append(_("该人员类别已有同类规则，请直接修改"))
        return True
    return False


def _rule_summary(rule: Requirement) -> str:
    return (f"{label(AUDIENCE_LABELS, rule.audience)} {'高危' if rule.high_risk else ''} "
            f"{rule.kind} {rule.hours:g}")


@bp.route("/requirements", methods=["GET", "POST"])
@role_required(*VIEW_ROLES)
def requirements():
    is_admin = current_user.has_role("admin")
    if request.method == "POST" and not is_admin:
        abort(403)
    form = _requirement_form() if is_admin else None
    if is_admin and form.validate_on_submit() and not _rule_clash(form, None):
        rule = Requirement(audience=form.audience.data, high_risk=bool(form.high_risk.data), kind=form.kind.data,
                           hours=round(form.hours.data, 2), source=form.source.data.strip())
        db.session.add(rule)
        record("create", rule, summary=_rule_summary(rule))
        db.session.commit()
        flash(_("已添加"), "success")
        return redirect(url_for("archive.requirements"))
    order = {code: i for i, code in enumerate(AUDIENCES)}
    rules = sorted(db.session.scalars(select(Requirement)),
                   key=lambda r: (order.get(r.audience, len(order)), r.audience, r.high_risk, r.kind != "initial"))
    missing = {(a, h, k) for a, h, k, _h in compliance.DEFAULT_RULES} - {(r.audience, r.high_risk, r.kind)
                                                                        for r in rules}
    return render_template("courses/archive/requirements.html", rules=rules, form=form, is_admin=is_admin,
                           missing=len(missing))


@bp.route("/requirements/<int:rule_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def requirement_edit(rule_id: int):
    rule = db.session.get(Requirement, rule_id)
    if rule is None:
        abort(404)
    form = _requirement_form(rule)
    if form.validate_on_submit() and not _rule_clash(form, rule.id):
        before = {f: getattr(rule, f) for f in ("audience", "high_risk", "kind", "hours", "source")}
        rule.audience, rule.high_risk, rule.kind = form.audience.data, bool(form.high_risk.data), form.kind.data
        rule.hours, rule.source = round(form.hours.data, 2), form.source.data.strip()
        changed = {k: [v, getattr(rule, k)] for k, v in before.items() if getattr(rule, k) != v}
        record("update", rule, summary=_rule_summary(rule), changed=changed)
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("archive.requirements"))
    return render_template("courses/archive/requirement_form.html", form=form, rule=rule)


@bp.route("/requirements/<int:rule_id>/delete", methods=["POST"])
@role_required("admin")
def requirement_delete(rule_id: int):
    rule = db.session.get(Requirement, rule_id)
    if rule is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record("delete", rule, summary=_rule_summary(rule), audience=rule.audience, high_risk=rule.high_risk,
           kind=rule.kind, hours=rule.hours, source=rule.source)
    db.session.delete(rule)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("archive.requirements"))


@bp.route("/requirements/seed", methods=["POST"])
@role_required("admin")
def requirements_seed():
    if not FlaskForm().validate_on_submit():
        abort(400)
    added = compliance.add_missing_rules()
    for rule in added:
        record("create", rule, summary=_rule_summary(rule), seeded=True)
    db.session.commit()
    flash(_("已补齐 %(n)d 条国家规定的规则", n=len(added)), "success")
    return redirect(url_for("archive.requirements"))


@bp.cli.command("seed-requirements")
def seed_requirements_command() -> None:
    """Add the national yearly 学时 rules that are missing (flask archive seed-requirements)."""
    added = compliance.seed_requirements()
    db.session.commit()
    click.echo(f"added {added} requirement rules")
