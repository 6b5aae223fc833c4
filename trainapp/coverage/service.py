"""Aggregates of the measures: totals, the sector × street matrix, units of a cell, who is missing.

Each function runs the measure's statement as a subquery and groups it in the database; pandas only
shapes the (small) grouped result into the matrix. Targets and settings are rows an admin edits.
"""
from __future__ import annotations

import calendar
import os
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from trainapp.certificates.service import today as shanghai_today
from trainapp.courses import compliance
from trainapp.coverage.measures import MEASURES, PERSON_RULES, Context, Measure, Period, person_counts
from trainapp.coverage.models import CoverageSetting, CoverageTarget
from trainapp.extensions import db
from trainapp.org.models import Agency, Enterprise, Sector, Street

# The plans' 重点行业领域 (seed 000: 消防安全、城镇燃气、建设工程施工、道路交通、工贸、危化品 and others).
DEFAULT_KEY_SECTORS = ("hazardous_chemicals", "construction", "fire_key", "gas", "industry_trade",
                       "road_transport", "transport", "special_equipment")
DEFAULT_DUE_DAY = 20  # seed 000 五(六): by the 20th; seeds 002 and 003 use other days, hence a setting

PLAN_2024 = "《安全生产治本攻坚三年行动方案（2024—2026年）》街镇实施方案"
# (measure, percent, due, source)
DEFAULT_TARGETS = (
    ("principals", 100.0, dt.date(2024, 12, 31), PLAN_2024 + "：重点行业领域主要负责人教育培训全覆盖"),
    ("safety_managers", 100.0, dt.date(2024, 12, 31), PLAN_2024 + "：重点行业领域安全管理人员培训全覆盖"),
    ("staff", 100.0, dt.date(2025, 12, 31), PLAN_2024 + "：全体从业人员安全生产受训率达到100%"),
    ("regulators", 100.0, dt.date(2026, 12, 31), PLAN_2024 + "：安全监管执法人员三年内轮训一遍"),
    ("leaders", 100.0, dt.date(2024, 12, 31), PLAN_2024 + "：党政领导干部每年专题学习培训"),
    ("permits", 100.0, None, "《特种作业人员安全技术培训考核管理规定》：特种作业人员持证上岗"),
)

STATUS_LABELS = {
    "met": _l("已达标"),
    "behind": _l("未达标（期限内）"),
    "overdue": _l("逾期未达标"),
    "no_target": _l("无目标"),
    "no_data": _l("暂无数据"),
}


# --- settings and targets ------------------------------------------------------------------------------

def setting(key: str, default: str = "") -> str:
    row = db.session.get(CoverageSetting, key)
    return row.value if row is not None else default


def set_setting(key: str, value: str) -> None:
    row = db.session.get(CoverageSetting, key)
    if row is None:
        db.session.add(CoverageSetting(key=key, value=value))
    else:
        row.value = value


def due_day() -> int:
    try:
        return min(28, max(1, int(setting("report_due_day", str(DEFAULT_DUE_DAY)))))
    except ValueError:
        return DEFAULT_DUE_DAY


def next_report_due(on: dt.date) -> dt.date:
    """The next day the monthly report (on the previous month) is due, counting today."""
    day = due_day()
    due = on.replace(day=day)
    if due >= on:
        return due
    year, month = (on.year + 1, 1) if on.month == 12 else (on.year, on.month + 1)
    return dt.date(year, month, day)


def key_sector_ids() -> list[int]:
    raw = setting("key_sectors", ",".join(DEFAULT_KEY_SECTORS))
    codes = [c for c in raw.split(",") if c]
    return list(db.session.scalars(select(Sector.id).where(Sector.code.in_(codes), Sector.parent_id.is_(None))))


def seed_targets() -> int:
    """Add the plans' targets that are missing (an edited target is left alone); returns how many."""
    have = set(db.session.scalars(select(CoverageTarget.measure)))
    added = [CoverageTarget(measure=m, percent=p, due_on=d, source=s)
             for m, p, d, s in DEFAULT_TARGETS if m not in have]
    db.session.add_all(added)
    db.session.flush()
    return len(added)


def targets() -> dict[str, CoverageTarget]:
    """The targets by measure; the plans' defaults are added the first time, when there are none at all."""
    rows = db.session.scalars(select(CoverageTarget)).all()
    if not rows:
        seed_targets()
        db.session.commit()
        rows = db.session.scalars(select(CoverageTarget)).all()
    return {t.measure: t for t in rows}


def context() -> Context:
    return Context(key_sector_ids(), compliance.Rules.load())


def today() -> dt.date:
    return shanghai_today()


def period_from(args, on: dt.date | None = None) -> Period:
    """The period a request asks for: ?year=YYYY, or ?start=…&end=…; the current year by default."""
    on = on or today()
    start, end = args.get("start", ""), args.get("end", "")
    try:
        if start and end:
            s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            if s <= e and (e - s).days <= 3 * 366:
                return Period(s, e, on)
    except ValueError:
        pass
    year = args.get("year", type=int) or on.year
    if not 2000 <= year <= on.year + 1:
        year = on.year
    return Period.year_of(year, on)


def month_period(year: int, month: int, on: dt.date) -> Period:
    """The report month: the training year up to the month's last day."""
    last = calendar.monthrange(year, month)[1]
    return Period(dt.date(year, 1, 1), dt.date(year, month, last), on)


# --- figures --------------------------------------------------------------------------------------------

@dataclass
class Figure:
    total: int
    covered: int
    has_data: bool = True

    @property
    def percent(self) -> float | None:
        if not self.has_data or self.total == 0:
            return None
        return round(100.0 * self.covered / self.total, 1)

    @property
    def missing(self) -> int:
        return self.total - self.covered


def status(fig: Figure, target: CoverageTarget | None, on: dt.date) -> str:
    pct = fig.percent
    if pct is None:
        return "no_data"
    if target is None:
        return "no_target"
    if pct + 1e-9 >= target.percent:
        return "met"
    if target.due_on is not None and on > target.due_on:
        return "overdue"
    return "behind"


def _session_memory(parallel: bool = False) -> None:
    """On PostgreSQL, tune this transaction for one large grouping: let its sorts and hashes use
    COVERAGE_WORK_MEM (default 128MB; grouping a district's people by person spills to disk with the
    server's default of 4MB), and run it without JIT (compiling the query took about half a second).
    Without `parallel`, in one process: when training records are summed per person, each parallel worker
    built the whole per-person hash of records again (three times the work on two cores). Reading the
    yearly totals (`PersonYearHours`) has no such step, and there parallel workers cut a district's
    staff count from 1.4 to 1.1 s on two cores. Lists are streamed through a server-side cursor, for which
    PostgreSQL by default plans to read only a tenth of the rows; these readers read them all."""
    from flask import current_app

    if db.engine.dialect.name != "postgresql":
        return
    value = current_app.config.get("COVERAGE_WORK_MEM", "128MB")
    if value:
        db.session.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": value})
    db.session.execute(text("SELECT set_config('jit', 'off', true), set_config('cursor_tuple_fraction', '1', true)"))
    if not parallel:
        db.session.execute(text("SELECT set_config('max_parallel_workers_per_gather', '0', true)"))


def _frame_rows(measure: Measure, user, period: Period, ctx: Context) -> pd.DataFrame:
    return measure.frame(measure, user, period, ctx)


def _filter(frame: pd.DataFrame, where) -> pd.DataFrame:
    for key, value in where:
        frame = frame[frame[key].isna()] if value is None else frame[frame[key] == value]
    return frame


def grouped(measure: Measure, user, period: Period, ctx: Context, *keys: str, where=()) -> list:
    """Rows of (keys…, total, covered) for the measure's population grouped by the named columns."""
    if measure.frame is not None or measure.code in PERSON_RULES:
        if measure.frame is not None:
            frame = _filter(_frame_rows(measure, user, period, ctx), where).assign(total=1)
        else:
            frame = _filter(people_units(user, period, ctx, [measure.code])[measure.code], where)
        if not keys:
            return ([pd.Series({"total": int(frame["total"].sum()), "covered": int(frame["covered"].sum())})]
                    if len(frame) else [])
        return list(_add_up(frame, keys).itertuples(index=False))
    _session_memory()
    sub = measure.statement(user, period, ctx).subquery()
    cols = [sub.c[k] for k in keys]
    stmt = select(*cols, func.count().label("total"), func.coalesce(func.sum(sub.c.covered), 0).label("covered"))
    for key, value in where:
        stmt = stmt.where(sub.c[key].is_(None) if value is None else sub.c[key] == value)
    if cols:
        stmt = stmt.group_by(*cols)
    return db.session.execute(stmt).all()


def cells(measure: Measure, user, period: Period, ctx: Context) -> pd.DataFrame:
    """One row per (street, sector) with members: street_id, sector_id, total, covered."""
    rows = grouped(measure, user, period, ctx, "street_id", "sector_id")
    frame = pd.DataFrame([(r.street_id, r.sector_id, r.total, r.covered) for r in rows],
                         columns=["street_id", "sector_id", "total", "covered"])
    return frame.astype({"total": "int64", "covered": "int64"})


def _in_worker(app, user_id: int, job):
    """Run `job(user)` in this thread with its own app context and database session."""
    from trainapp.auth.models import User

    with app.app_context():
        try:
            return job(db.session.get(User, user_id))
        finally:
            db.session.remove()


def unit_cells(measure: Measure, user, period: Period, ctx: Context) -> pd.DataFrame:
    """Like `cells`, one level finer: a row per (street, sector, unit)."""
    rows = grouped(measure, user, period, ctx, "street_id", "sector_id", "unit_id")
    frame = pd.DataFrame([(r.street_id, r.sector_id, r.unit_id, r.total, r.covered) for r in rows],
                         columns=["street_id", "sector_id", "unit_id", "total", "covered"])
    return frame.astype({"total": "int64", "covered": "int64"})


def units_from(measure: Measure, frame: pd.DataFrame, has_data: bool, limit: int | None = None) -> list[dict]:
    """The units of a `unit_cells` frame with their figures, worst first (as `units` returns them); with
    `limit`, only the `limit` worst."""
    per_unit = frame.groupby("unit_id")[["total", "covered"]].sum()
    per_unit = per_unit[per_unit["total"] > 0]
    percent = (100.0 * per_unit["covered"] / per_unit["total"]).round(1) if has_data else None
    ids = per_unit.index.astype("int64")
    if limit is not None and percent is not None and len(per_unit) > limit:
        # The worst by rate, then by how many are missing; among units that still tie, the lowest ids, so
        # only `limit` names are fetched (thousands of units may share a rate of 0 %).
        missing = (per_unit["total"] - per_unit["covered"]).to_numpy()
        keep = np.lexsort((ids.to_numpy(), -missing, percent.to_numpy()))[:limit]
        per_unit, ids = per_unit.iloc[keep], ids[keep]
    model = Enterprise if measure.holder == "enterprise" else Agency
    names = _names(model, ids)
    out = [{"id": int(i), "name": names.get(int(i), ""), "figure": Figure(int(t), int(c), has_data)}
           for i, t, c in zip(ids, per_unit["total"].to_numpy(), per_unit["covered"].to_numpy())]
    out.sort(key=lambda u: (u["figure"].percent if u["figure"].percent is not None else 101, u["name"]))
    return out if limit is None else out[:limit]


def compute_all(user, period: Period, ctx: Context, measures, jobs=None, workers: int | None = None,
                by_unit=()) -> dict:
    """Every measure's cells and has-data flag, plus any extra `jobs` ({name: fn(user)}), run side by side.

    The reports need all the measures at once; each is an independent read, so they run on a small
    pool of threads (one database connection each; SQLite in WAL mode and PostgreSQL both serve
    concurrent readers), which on a multi-core machine takes about the time of the longest query
    rather than the sum. With one worker (or in tests asking for it) they run one after another.
    """
    from concurrent.futures import ThreadPoolExecutor

    from flask import current_app

    tasks = {}
    together = [m.code for m in measures if m.code in PERSON_RULES]
    if together:
        # The person measures read the same people and records: one pass counts them all.
        tasks[("people", None)] = lambda u: people_cells(u, period, ctx, together, by_unit)
    for m in measures:
        if m.code in together:
            pass
        elif m.code in by_unit:
            tasks[("unit_cells", m.code)] = (lambda m: lambda u: unit_cells(m, u, period, ctx))(m)
        else:
            tasks[("cells", m.code)] = (lambda m: lambda u: cells(m, u, period, ctx))(m)
        tasks[("has_data", m.code)] = (lambda m: lambda u: m.has_data(u, period))(m)
    for name, fn in (jobs or {}).items():
        tasks[("job", name)] = fn
    workers = workers or current_app.config.get("COVERAGE_WORKERS") or min(4, os.cpu_count() or 1)
    if workers <= 1 or db.engine.dialect.name == "sqlite" and db.engine.url.database in (None, "", ":memory:"):
        done = {key: fn(user) for key, fn in tasks.items()}
    else:
        app = current_app._get_current_object()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {key: pool.submit(_in_worker, app, user.id, fn) for key, fn in tasks.items()}
            done = {key: f.result() for key, f in futures.items()}
    for code, frame in (done.pop(("people", None), None) or {}).items():
        done[("unit_cells" if code in by_unit else "cells", code)] = frame
    return done


def people_units(user, period: Period, ctx: Context, codes) -> dict[str, pd.DataFrame]:
    """Per person measure, a row per enterprise with members (street_id, sector_id, unit_id, total, covered),
    all from one statement (`person_counts`)."""
    _session_memory(parallel=period.whole_year)
    sums = [f"{c}_{k}" for c in codes for k in ("total", "covered")]
    names = ["unit_id", "street_id", "sector_id", *sums]
    district_hours = (db.engine.dialect.name == "postgresql" and user.has_role("admin") and not period.whole_year
                      and any("hours" in PERSON_RULES[c].facts for c in codes))
    if district_hours:
        # Every person's 学时 of a period other than a calendar year: summed in person order straight from the
        # index on (person_id, occurred_on, hours) and merged with the people in id order (about 2.6 s for
        # 780,000 staff) rather than hashed (3.3–5 s), which the planner prefers on its estimates.
        db.session.execute(text("SELECT set_config('enable_hashagg', 'off', true), "
                                "set_config('enable_hashjoin', 'off', true)"))
    rows = db.session.execute(person_counts(user, period, ctx, codes)).all()
    if district_hours:
        db.session.execute(text("SELECT set_config('enable_hashagg', 'on', true), "
                                "set_config('enable_hashjoin', 'on', true)"))
    # Column by column: pandas builds a frame from 100,000 plain lists far faster than from row objects.
    columns = list(zip(*rows)) if rows else [()] * len(names)
    frame = pd.DataFrame({name: pd.Series(col, dtype="float64" if name in ("street_id", "sector_id") else None)
                          for name, col in zip(names, columns)})
    out = {}
    for code in codes:
        part = frame[["street_id", "sector_id", "unit_id", f"{code}_total", f"{code}_covered"]].rename(
            columns={f"{code}_total": "total", f"{code}_covered": "covered"})
        part = part[part["total"] > 0].astype({"total": "int64", "covered": "int64"})
        out[code] = part.reset_index(drop=True)
    return out


def _add_up(fine: pd.DataFrame, keys) -> pd.DataFrame:
    return fine.groupby(list(keys), dropna=False)[["total", "covered"]].sum().reset_index()


def people_cells(user, period: Period, ctx: Context, codes, by_unit=()) -> dict[str, pd.DataFrame]:
    """`cells` (or `unit_cells` for the codes in `by_unit`) of several person measures from one statement."""
    return {code: fine if code in by_unit else _add_up(fine, ["street_id", "sector_id"])
            for code, fine in people_units(user, period, ctx, codes).items()}


def matrices(user, period: Period, ctx: Context, measures=None, jobs=None, by_unit=(),
             unit_limit: int | None = None) -> tuple[list[Matrix], dict]:
    """A Matrix per measure (computed together by `compute_all`) and the results of the extra jobs.

    For the measures named in `by_unit` the query groups one level finer, and the jobs' results also
    hold their units ("units:<code>"), worst first (the first `unit_limit`), without a second query."""
    measures = list(measures or MEASURES.values())
    done = compute_all(user, period, ctx, measures, jobs, by_unit=by_unit)
    out, extra = [], {name: done[("job", name)] for name in (jobs or {})}
    for m in measures:
        has_data = done[("has_data", m.code)]
        if m.code in by_unit:
            fine = done[("unit_cells", m.code)]
            frame = _add_up(fine, ["street_id", "sector_id"])
            extra[f"units:{m.code}"] = units_from(m, fine, has_data, unit_limit)
        else:
            frame = done[("cells", m.code)]
        out.append(matrix(m, user, period, ctx, frame, has_data))
    return out, extra


def total(frame: pd.DataFrame, has_data: bool) -> Figure:
    return Figure(int(frame["total"].sum()), int(frame["covered"].sum()), has_data)


@dataclass
class Matrix:
    measure: Measure
    period: Period
    has_data: bool
    sectors: list      # [(id or None, name)]
    streets: list      # [(id or None, name)]
    cell: dict         # (sector_id, street_id) -> Figure
    row_total: dict    # sector_id -> Figure
    col_total: dict    # street_id -> Figure
    overall: Figure


def _names(model, ids) -> dict:
    """id -> name for the given ids, fetched in chunks (a cell of a large district has tens of thousands of
    units; PostgreSQL takes at most 65,535 parameters in one statement)."""
    ids = sorted({int(i) for i in ids if i is not None})
    out = {}
    for start in range(0, len(ids), 10_000):
        chunk = ids[start:start + 10_000]
        out.update((i, n) for i, n in db.session.execute(select(model.id, model.name).where(model.id.in_(chunk))))
    return out


def matrix(measure: Measure, user, period: Period, ctx: Context | None = None,
           frame: pd.DataFrame | None = None, has_data: bool | None = None) -> Matrix:
    """The sector × street table of a measure, with row and column totals (pandas pivot of grouped rows)."""
    ctx = ctx or context()
    has_data = measure.has_data(user, period) if has_data is None else has_data
    frame = cells(measure, user, period, ctx) if frame is None else frame
    keyed = frame.fillna({"street_id": -1, "sector_id": -1})
    pivot_total = keyed.pivot_table(index="sector_id", columns="street_id", values="total", aggfunc="sum",
                                    fill_value=0)
    pivot_cov = keyed.pivot_table(index="sector_id", columns="street_id", values="covered", aggfunc="sum",
                                  fill_value=0)

    def back(v):
        return None if v == -1 else int(v)

    cell = {}
    for sec in pivot_total.index:
        for st in pivot_total.columns:
            t = int(pivot_total.at[sec, st])
            if t:
                cell[(back(sec), back(st))] = Figure(t, int(pivot_cov.at[sec, st]), has_data)
    row_total = {back(s): Figure(int(pivot_total.loc[s].sum()), int(pivot_cov.loc[s].sum()), has_data)
                 for s in pivot_total.index}
    col_total = {back(s): Figure(int(pivot_total[s].sum()), int(pivot_cov[s].sum()), has_data)
                 for s in pivot_total.columns}
    sector_names = _names(Sector, row_total)
    street_names = _names(Street, col_total)
    sectors = sorted(((s, sector_names.get(s, "")) for s in row_total), key=lambda p: (p[0] is None, p[0] or 0))
    streets = sorted(((s, street_names.get(s, "")) for s in col_total), key=lambda p: (p[0] is None, p[0] or 0))
    return Matrix(measure, period, has_data, sectors, streets, cell, row_total, col_total,
                  total(frame, has_data))


def units(measure: Measure, user, period: Period, ctx: Context, street_id, sector_id) -> list[dict]:
    """The enterprises (or agencies) of one cell with their figures, worst first. None = any."""
    where = []
    if street_id is not None:
        where.append(("street_id", None if street_id == -1 else street_id))
    if sector_id is not None:
        where.append(("sector_id", None if sector_id == -1 else sector_id))
    rows = grouped(measure, user, period, ctx, "unit_id", where=where)
    frame = pd.DataFrame([(r.unit_id, r.total, r.covered) for r in rows], columns=["unit_id", "total", "covered"])
    return units_from(measure, frame, measure.has_data(user, period))


def missing_units(measure: Measure, user, period: Period, ctx: Context, *, street_id=None, sector_id=None,
                  unit_id=None) -> list[dict]:
    """For an enterprise-level measure: the enterprises not covered, with street name, reason and detail."""
    frame = _frame_rows(measure, user, period, ctx)
    for key, value in (("street_id", street_id), ("sector_id", sector_id), ("unit_id", unit_id)):
        if value is not None:
            frame = _filter(frame, [(key, None if value == -1 else value)])
    frame = frame[frame["covered"] == 0]
    ids = [int(i) for i in frame["unit_id"]]
    names = _names(Enterprise, ids)
    streets = _names(Street, [int(s) for s in frame["street_id"].dropna()])
    out = [{"unit_id": int(r.unit_id), "unit_name": names.get(int(r.unit_id), ""),
            "street_name": streets.get(int(r.street_id), "") if pd.notna(r.street_id) else "",
            "reason": r.reason, "detail": r.detail} for r in frame.itertuples()]
    out.sort(key=lambda u: (u["street_name"], u["unit_name"]))
    return out


def missing_statement(measure: Measure, user, period: Period, ctx: Context, *, street_id=None, sector_id=None,
                      unit_id=None):
    """The members who are not covered, with what a street officer needs to chase them.

    Ordered by street, unit and member number (ids, so the database sorts integers, not names)."""
    _session_memory()
    sub = measure.statement(user, period, ctx).subquery()
    stmt = (select(sub.c.member_id, sub.c.name, sub.c.mobile, sub.c.audience, sub.c.employment_type,
                   sub.c.unit_name, Street.name.label("street_name"), sub.c.reason, sub.c.unit_id)
            .outerjoin(Street, Street.id == sub.c.street_id)
            .where(sub.c.covered == 0))
    for key, value in (("street_id", street_id), ("sector_id", sector_id), ("unit_id", unit_id)):
        if value is not None:
            stmt = stmt.where(sub.c[key].is_(None) if value == -1 else sub.c[key] == value)
    return stmt.order_by(sub.c.street_id, sub.c.unit_id, sub.c.member_id)


def monthly_trend(measure: Measure, user, year: int, on: dt.date, ctx: Context) -> list[tuple[str, Figure]]:
    """The measure's overall figure at the end of each month of `year` that has begun (months side by side)."""
    last_month = 12 if year < on.year else on.month

    def month_figure(month):
        period = month_period(year, month, on)

        def job(u):
            rows = grouped(measure, u, period, ctx)
            t, c = (rows[0].total, rows[0].covered) if rows else (0, 0)
            return Figure(int(t), int(c or 0), measure.has_data(u, period))
        return job

    done = compute_all(user, Period.year_of(year, on), ctx, [],
                       {m: month_figure(m) for m in range(1, last_month + 1)})
    return [(f"{year}-{m:02d}", done[("job", m)]) for m in range(1, last_month + 1)]


def summary(user, period: Period, ctx: Context | None = None) -> list[dict]:
    """Every measure's overall figure and status against its target."""
    ctx = ctx or context()
    tgt = targets()
    mxs, _jobs = matrices(user, period, ctx)
    return [{"measure": mx.measure, "figure": mx.overall, "target": tgt.get(mx.measure.code),
             "status": status(mx.overall, tgt.get(mx.measure.code), period.today)} for mx in mxs]
