"""Coverage exports: the xlsx workbook, CSV of a missing-people list, and the monthly report (月报) PDF.

The workbook is written by XlsxWriter in constant-memory mode: rows go straight to the file as the
database streams them (`yield_per`), so a list of a million people does not sit in memory. A sheet
holds at most 1,048,576 rows; longer lists continue on a second sheet.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile

from flask import render_template
from flask_babel import gettext as _

from trainapp.coverage import charts, service
from trainapp.coverage.measures import MEASURES, REASON_LABELS, Period
from trainapp.extensions import db
from trainapp.labels import AUDIENCE_LABELS, EMPLOYMENT_LABELS

SHEET_ROWS = 1_048_576
STREAM_CHUNK = 5000
# A missing list longer than this is cut in the workbook, with a note pointing at the full CSV: a sheet
# of hundreds of thousands of names is not something anyone prints, and the CSV streams any length.
WORKBOOK_LIST_ROWS = 100_000


def missing_columns() -> list[str]:
    return [_("街镇"), _("单位"), _("姓名"), _("手机号"), _("培训对象类别"), _("用工形式"), _("未覆盖原因")]


def missing_rows(stmt):
    """The rows of a missing-people statement, read from the database in chunks (labels looked up once)."""
    audiences = {k: str(v) for k, v in AUDIENCE_LABELS.items()}
    employment = {k: str(v) for k, v in EMPLOYMENT_LABELS.items()}
    reasons = {k: str(v) for k, v in REASON_LABELS.items()}
    district = _("区级")
    result = db.session.execute(stmt.execution_options(yield_per=STREAM_CHUNK))
    try:
        for r in result:
            yield [r.street_name or district, r.unit_name or "", r.name, r.mobile or "",
                   audiences.get(r.audience, r.audience), employment.get(r.employment_type, r.employment_type),
                   reasons.get(r.reason, r.reason or "")]
    finally:
        result.close()  # a reader that stops early must not leave PostgreSQL's server-side cursor open


def missing_table(measure, user, period: Period, ctx, limit: int | None = None, **filters):
    """(column headers, row iterator) of who or what is not covered, for any measure; at most `limit` people
    (the database then keeps only the first rows in order instead of sorting the whole list)."""
    if measure.frame is None:
        stmt = service.missing_statement(measure, user, period, ctx, **filters)
        return missing_columns(), missing_rows(stmt if limit is None else stmt.limit(limit))
    reasons = {k: str(v) for k, v in REASON_LABELS.items()}
    units = service.missing_units(measure, user, period, ctx, **filters)
    columns = [_("街镇"), _("单位"), _("未覆盖原因"), _("应完成日期 / 自")]
    return columns, ([u["street_name"], u["unit_name"], reasons.get(u["reason"], u["reason"] or ""), u["detail"]]
                     for u in units)


def csv_chunks(columns, rows):
    """A CSV file (UTF-8 with BOM, so Chinese Excel opens it) as a stream of strings."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(columns)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % 2000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _pct(fig) -> str:
    return "" if fig.percent is None else f"{fig.percent:.1f}%"


def _sheet_name(text: str, used: set) -> str:
    name = "".join(ch for ch in str(text) if ch not in "[]:*?/\\")[:28] or "sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[:26]}_{n}"
        n += 1
    used.add(name)
    return name


def workbook(user, period: Period, measures=None, with_missing: bool = True, list_rows: int | None = None,
             csv_url=None) -> str:
    """Write the workbook to a temporary file and return its path (the caller sends and deletes it)."""
    import xlsxwriter

    ctx = service.context()
    tgt = service.targets()
    measures = measures or list(MEASURES.values())
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    handle.close()
    wb = xlsxwriter.Workbook(handle.name, {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    head = wb.add_format({"bold": True, "bg_color": "#E6E6E6"})
    used: set = set()
    summary = wb.add_worksheet(_sheet_name(_("汇总"), used))
    summary.write_row(0, 0, [_("统计期间"), f"{period.start} — {period.end}", _("统计日"), str(period.as_of)])
    summary.write_row(1, 0, [_("指标"), _("应覆盖"), _("已覆盖"), _("覆盖率"), _("目标"), _("期限"), _("状态"),
                             _("依据")], head)
    matrices, _jobs = service.matrices(user, period, ctx, measures)
    for i, mx in enumerate(matrices, start=2):
        t = tgt.get(mx.measure.code)
        st = service.status(mx.overall, t, period.today)
        summary.write_row(i, 0, [str(mx.measure.label), mx.overall.total, mx.overall.covered, _pct(mx.overall),
                                 f"{t.percent:g}%" if t else "", str(t.due_on or "") if t else "",
                                 str(service.STATUS_LABELS[st]), t.source if t else ""])
    for mx in matrices:
        ws = wb.add_worksheet(_sheet_name(mx.measure.label, used))
        ws.write(0, 0, str(mx.measure.label), head)
        ws.write(1, 0, str(mx.measure.description))
        header = [_("行业领域")] + [name or _("区级") for _sid, name in mx.streets] + [_("合计")]
        ws.write_row(3, 0, header, head)
        row = 4
        for sec_id, sec_name in mx.sectors:
            values = [sec_name or _("政府部门")]
            for st_id, _n in mx.streets:
                fig = mx.cell.get((sec_id, st_id))
                values.append(f"{fig.covered}/{fig.total} {_pct(fig)}" if fig else "")
            tot = mx.row_total[sec_id]
            values.append(f"{tot.covered}/{tot.total} {_pct(tot)}")
            ws.write_row(row, 0, values)
            row += 1
        values = [_("合计")] + [f"{mx.col_total[s].covered}/{mx.col_total[s].total} {_pct(mx.col_total[s])}"
                                for s, _n in mx.streets] + [f"{mx.overall.covered}/{mx.overall.total} {_pct(mx.overall)}"]
        ws.write_row(row, 0, values, head)
    if with_missing:
        limit = min(list_rows or WORKBOOK_LIST_ROWS, SHEET_ROWS - 2)
        for mx in matrices:
            if not mx.has_data or mx.overall.missing == 0:
                continue
            columns, rows = missing_table(mx.measure, user, period, ctx, limit=limit)
            ws = wb.add_worksheet(_sheet_name(_("%(m)s 未覆盖", m=mx.measure.label), used))
            ws.write_row(0, 0, columns, head)
            row = 1
            for values in rows:
                if row > limit:
                    break
                ws.write_row(row, 0, values)
                row += 1
            if hasattr(rows, "close"):
                rows.close()
            left = mx.overall.missing - (row - 1)
            if left > 0:
                note = _("名单较长：本表列出前 %(n)d 条，另有 %(m)d 条未列出，完整名单请下载 CSV。", n=row - 1, m=left)
                ws.write(row, 0, note + (f" {csv_url(mx.measure.code)}" if csv_url else ""))
    wb.close()
    return handle.name


# --- the monthly report --------------------------------------------------------------------------------

def report_context(user, year: int, month: int, on: dt.date, unit_name: str) -> dict:
    """Everything the monthly report shows: the table of measures, a chart, streets × measures, the worst units."""
    period = service.month_period(year, month, on)
    ctx = service.context()
    tgt = service.targets()
    rows, by_street, street_names = [], {}, {}
    mxs, jobs = service.matrices(user, period, ctx, by_unit=("principals",), unit_limit=30)
    for mx in mxs:
        m = mx.measure
        t = tgt.get(m.code)
        st = service.status(mx.overall, t, on)
        rows.append({"measure": m, "figure": mx.overall, "target": t, "status": st})
        for sid, name in mx.streets:
            street_names[sid] = name
            by_street.setdefault(sid, {})[m.code] = mx.col_total[sid]
    chart = charts.bars([(str(r["measure"].label), r["figure"].percent, r["target"].percent if r["target"] else None,
                          r["status"]) for r in rows], _("各项指标覆盖率"), _("暂无数据"))
    worst = []
    for unit in jobs["units:principals"][:30]:
        if unit["figure"].missing:
            worst.append(unit)
    return {"period": period, "rows": rows, "chart": chart, "year": year, "month": month,
            "streets": sorted(street_names.items(), key=lambda p: (p[0] is None, p[1])), "by_street": by_street,
            "measures": list(MEASURES.values()), "worst": worst, "unit_name": unit_name, "printed_on": on,
            "due_day": service.due_day(), "status_labels": service.STATUS_LABELS}


def report_pdf(user, year: int, month: int, on: dt.date, unit_name: str) -> bytes:
    from trainapp.pdfdoc import html_to_pdf

    return html_to_pdf(render_template("coverage/report_pdf.html", **report_context(user, year, month, on, unit_name)))
