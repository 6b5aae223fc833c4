"""Coverage pages for managers, regulators and admins: dashboard, matrix, drill-down, exports, settings.

Every figure is computed within the viewer's scope (trainapp.auth.scope), so a street manager's
matrix has one column and an enterprise outside the scope is simply not there.
"""
from __future__ import annotations

import datetime as dt
import io
import os

from flask import (Blueprint, Response, abort, after_this_request, flash, redirect, render_template, request,
                   send_file, stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, FloatField, IntegerField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import get_enterprise
from trainapp.coverage import charts, exports, service
from trainapp.coverage.measures import MEASURES, REASON_LABELS
from trainapp.coverage.models import CoverageTarget
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.labels import AUDIENCE_LABELS, EMPLOYMENT_LABELS
from trainapp.org.models import Agency, Sector
from trainapp.paging import ListPage

bp = Blueprint("coverage", __name__, url_prefix="/coverage")
VIEW_ROLES = ("admin", "manager", "regulator")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 100


class _Reports:
    """What the audit log names as the entity of a coverage export or settings change."""
    __tablename__ = "coverage_report"
    id = None


def _audit(action: str, summary: str) -> None:
    record(action, _Reports(), summary=summary)
    db.session.commit()


@bp.context_processor
def _labels():
    return {"status_labels": service.STATUS_LABELS, "reason_labels": REASON_LABELS,
            "audience_labels": AUDIENCE_LABELS, "employment_labels": EMPLOYMENT_LABELS,
            "status_colours": charts.COLOURS}


def _measure(code: str):
    measure = MEASURES.get(code)
    if measure is None:
        abort(404)
    return measure


def _period():
    return service.period_from(request.args)


def _period_args(period) -> dict:
    if period.start == dt.date(period.year, 1, 1) and period.end == dt.date(period.year, 12, 31):
        return {"year": period.year}
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _int_arg(name: str):
    """A street/sector/unit filter: an id, -1 for "none" (district agencies, government column), or None."""
    value = request.args.get(name, "")
    if value in ("", None):
        return None
    try:
        return int(value)
    except ValueError:
        abort(404)


@bp.route("/")
@role_required(*VIEW_ROLES)
def dashboard():
    period = _period()
    ctx = service.context()
    rows = service.summary(current_user, period, ctx)
    chart = charts.bars([(str(r["measure"].label), r["figure"].percent,
                          r["target"].percent if r["target"] else None, r["status"]) for r in rows],
                        _("各项指标覆盖率"), _("暂无数据"))
    # The monthly trend is a query per month, so it is drawn when asked for (the 趋势 links).
    trend_measure, trend_chart = MEASURES.get(request.args.get("trend", "")), None
    if trend_measure is not None:
        trend = service.monthly_trend(trend_measure, current_user, period.year, period.today, ctx)
        tgt = service.targets().get(trend_measure.code)
        trend_chart = charts.line([(label, fig.percent) for label, fig in trend],
                                  _("%(m)s：逐月覆盖率", m=trend_measure.label), tgt.percent if tgt else None)
    return render_template("coverage/dashboard.html", rows=rows, chart=chart, trend_chart=trend_chart,
                           trend_measure=trend_measure, period=period, period_args=_period_args(period),
                           next_due=service.next_report_due(period.today), years=_years(period),
                           measures=MEASURES)


def _years(period) -> list[int]:
    return list(range(period.today.year, 2023, -1))


@bp.route("/matrix/<code>")
@role_required(*VIEW_ROLES)
def matrix(code: str):
    measure = _measure(code)
    period = _period()
    mx = service.matrix(measure, current_user, period)
    target = service.targets().get(code)

    def colour(fig):
        return service.status(fig, target, period.today)

    return render_template("coverage/matrix.html", mx=mx, measure=measure, period=period,
                           period_args=_period_args(period), target=target, colour=colour, years=_years(period),
                           measures=MEASURES)


@bp.route("/matrix/<code>/units")
@role_required(*VIEW_ROLES)
def units(code: str):
    measure = _measure(code)
    period = _period()
    street, sector = _int_arg("street"), _int_arg("sector")
    rows = service.units(measure, current_user, period, service.context(), street, sector)
    target = service.targets().get(code)
    cell_args = dict(_period_args(period))
    cell_args.update({k: v for k, v in (("street", street), ("sector", sector)) if v is not None})
    return render_template("coverage/units.html", measure=measure, rows=rows, period=period,
                           period_args=_period_args(period), cell_args=cell_args, target=target,
                           colour=lambda fig: service.status(fig, target, period.today),
                           cell_name=_cell_name(street, sector))


def _cell_name(street, sector) -> str:
    from trainapp.org.models import Street

    parts = []
    if street is not None:
        parts.append(_("区级") if street == -1 else (db.session.get(Street, street).name
                                                      if db.session.get(Street, street) else "—"))
    if sector is not None:
        parts.append(_("政府部门") if sector == -1 else (db.session.get(Sector, sector).name
                                                        if db.session.get(Sector, sector) else "—"))
    return " · ".join(parts) or _("全部")


def _missing_filters():
    return {"street_id": _int_arg("street"), "sector_id": _int_arg("sector"), "unit_id": _int_arg("unit")}


def _unit_title(measure, unit_id):
    if unit_id is None:
        return ""
    if measure.holder == "enterprise":
        return get_enterprise(unit_id, current_user).name  # 404 outside the scope
    agency = db.session.get(Agency, unit_id)
    return agency.name if agency else ""


@bp.route("/matrix/<code>/missing")
@role_required(*VIEW_ROLES)
def missing(code: str):
    measure = _measure(code)
    period = _period()
    filters = _missing_filters()
    unit_title = _unit_title(measure, filters["unit_id"])
    ctx = service.context()
    requested = request.args.get("page", 1, type=int)
    if measure.frame is not None:
        everything = service.missing_units(measure, current_user, period, ctx, **filters)
        page = ListPage.of(len(everything), requested, PER_PAGE)
        rows = everything[(page.page - 1) * PER_PAGE:page.page * PER_PAGE]
    else:
        stmt = service.missing_statement(measure, current_user, period, ctx, **filters)
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        page = ListPage.of(total, requested, PER_PAGE)
        rows = db.session.execute(stmt.limit(PER_PAGE).offset((page.page - 1) * PER_PAGE)).all()
    args = dict(_period_args(period))
    args.update({k: v for k, v in (("street", filters["street_id"]), ("sector", filters["sector_id"]),
                                   ("unit", filters["unit_id"])) if v is not None})
    return render_template("coverage/missing.html", measure=measure, rows=rows, page=page, period=period,
                           period_args=_period_args(period), args=args, unit_title=unit_title,
                           cell_name=_cell_name(filters["street_id"], filters["sector_id"]))


def _missing_download(code: str, kind: str):
    """The list a download carries (404 for a unit outside the scope), audited; returns headers, rows, file name."""
    measure = _measure(code)
    period = _period()
    filters = _missing_filters()
    _unit_title(measure, filters["unit_id"])
    columns, rows = exports.missing_table(measure, current_user, period, service.context(), **filters)
    _audit("export", f"coverage missing {code} {kind}")
    return columns, rows, f"missing-{code}-{period.start}-{period.end}.{kind}"


@bp.route("/matrix/<code>/missing.csv")
@role_required(*VIEW_ROLES)
def missing_csv(code: str):
    columns, rows, name = _missing_download(code, "csv")
    return Response(stream_with_context(exports.csv_chunks(columns, rows)), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.route("/matrix/<code>/missing.xlsx")
@role_required(*VIEW_ROLES)
def missing_xlsx(code: str):
    columns, rows, name = _missing_download(code, "xlsx")
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True, "in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet(_("未覆盖名单"))
    ws.write_row(0, 0, columns, wb.add_format({"bold": True}))
    for n, values in enumerate(rows, start=1):
        if n >= exports.SHEET_ROWS:
            if hasattr(rows, "close"):
                rows.close()
            break
        ws.write_row(n, 0, values)
    wb.close()
    buf.seek(0)
    return send_file(buf, mimetype=XLSX_MIME, as_attachment=True, max_age=0, download_name=name)


@bp.route("/export.xlsx")
@role_required(*VIEW_ROLES)
def export_xlsx():
    period = _period()
    path = exports.workbook(current_user, period, csv_url=lambda code: url_for(
        "coverage.missing_csv", code=code, _external=True, **_period_args(period)))

    @after_this_request
    def _remove(response):
        try:
            os.unlink(path)
        except OSError:
            pass
        return response

    _audit("export", f"coverage workbook {period.start}–{period.end}")
    with open(path, "rb") as fh:
        data = fh.read()
    return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, max_age=0,
                     download_name=f"coverage-{period.start}-{period.end}.xlsx")


def _report_month() -> tuple[int, int]:
    """?month=YYYY-MM; by default the month before today (the report is on the month just ended)."""
    today = service.today()
    raw = request.args.get("month", "")
    try:
        year, month = (int(x) for x in raw.split("-"))
        if 2000 <= year <= today.year and 1 <= month <= 12 and (year, month) <= (today.year, today.month):
            return year, month
    except ValueError:
        pass
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.year, first.month


@bp.route("/report.pdf")
@role_required(*VIEW_ROLES)
def report_pdf():
    year, month = _report_month()
    unit = service.setting("reporting_unit", "") or _("（填报单位）")
    data = exports.report_pdf(current_user, year, month, service.today(), unit)
    _audit("export", f"coverage monthly report {year}-{month:02d}")
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, max_age=0,
                     download_name=f"coverage-report-{year}-{month:02d}.pdf")


# --- settings (admin) ----------------------------------------------------------------------------------

class SettingsForm(FlaskForm):
    report_due_day = IntegerField(_l("月报每月截止日"), validators=[InputRequired(), NumberRange(1, 28)])
    reporting_unit = StringField(_l("填报单位"), validators=[Optional(), Length(max=100)])
    key_sectors = SelectMultipleField(_l("重点行业领域"), validators=[Optional()])
    submit = SubmitField(_l("保存"))


class TargetForm(FlaskForm):
    percent = FloatField(_l("目标（%）"), validators=[InputRequired(), NumberRange(0, 100)])
    due_on = DateField(_l("期限"), validators=[Optional()])
    source = StringField(_l("依据"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("保存"))


@bp.route("/settings", methods=["GET", "POST"])
@role_required("admin")
def settings():
    form = SettingsForm()
    sectors = db.session.scalars(select(Sector).where(Sector.parent_id.is_(None)).order_by(Sector.id)).all()
    form.key_sectors.choices = opts((s.code, s.name) for s in sectors)
    if not form.is_submitted():
        form.report_due_day.data = service.due_day()
        form.reporting_unit.data = service.setting("reporting_unit", "")
        form.key_sectors.data = service.setting("key_sectors", ",".join(service.DEFAULT_KEY_SECTORS)).split(",")
    if form.validate_on_submit():
        service.set_setting("report_due_day", str(form.report_due_day.data))
        service.set_setting("reporting_unit", (form.reporting_unit.data or "").strip())
        service.set_setting("key_sectors", ",".join(form.key_sectors.data or []))
        _audit("update", "coverage settings")
        flash(_("设置已保存。"), "success")
        return redirect(url_for("coverage.settings"))
    service.seed_targets()
    db.session.commit()
    targets = service.targets()
    return render_template("coverage/settings.html", form=form, targets=targets, measures=MEASURES)


@bp.route("/targets/<code>", methods=["GET", "POST"])
@role_required("admin")
def target(code: str):
    measure = _measure(code)
    row = db.session.scalar(select(CoverageTarget).where(CoverageTarget.measure == code))
    form = TargetForm(obj=row)
    if form.validate_on_submit():
        if row is None:
            row = CoverageTarget(measure=code)
            db.session.add(row)
        row.percent, row.due_on, row.source = form.percent.data, form.due_on.data, (form.source.data or "").strip()
        _audit("update", f"coverage target {code}")
        flash(_("目标已保存。"), "success")
        return redirect(url_for("coverage.settings"))
    return render_template("coverage/target.html", form=form, measure=measure)
