"""Every measure on the hand-built population of tests/coverage/helpers.py, whose answers are known."""
import datetime as dt

import pytest

from tests.coverage.helpers import TODAY, YEAR, build
from trainapp.coverage import service
from trainapp.coverage.measures import MEASURES, Period
from trainapp.extensions import db


@pytest.fixture
def data(world):
    return build(world)


def figure(code, user, period=None):
    period = period or Period.year_of(YEAR, TODAY)
    m = service.matrix(MEASURES[code], user, period)
    return m


def reasons(code, user, **kw):
    stmt = service.missing_statement(MEASURES[code], user, Period.year_of(YEAR, TODAY), service.context(), **kw)
    return {row.name: row.reason for row in db.session.execute(stmt)}


def test_principals_of_key_sectors_trained_and_certified(world, data):
    admin = world.users["admin"]
    m = figure("principals", admin)
    assert (m.overall.total, m.overall.covered) == (4, 1)
    assert m.overall.percent == 25.0
    assert reasons("principals", admin) == {"学员甲": "untrained", "主要负责人乙": "no_certificate",
                                            "主要负责人丁": "untrained"}
    # Per street: A has three principals (one covered), B one (none); the commerce unit is not counted.
    assert (m.col_total[world.street_a.id].total, m.col_total[world.street_a.id].covered) == (3, 1)
    assert (m.col_total[world.street_b.id].total, m.col_total[world.street_b.id].covered) == (1, 0)
    # 粉尘涉爆 rolls up into 工贸.
    assert set(m.row_total) == {world.trade.id, world.chem.id}
    assert m.cell[(world.trade.id, world.street_a.id)].total == 2


def test_staff_hours_counts_dispatched_and_corrections_and_skips_leavers_and_late_joiners(world, data):
    admin = world.users["admin"]
    m = figure("staff", admin)
    assert (m.overall.total, m.overall.covered) == (8, 5)
    assert (m.col_total[world.street_a.id].total, m.col_total[world.street_a.id].covered) == (4, 2)
    assert (m.col_total[world.street_b.id].total, m.col_total[world.street_b.id].covered) == (4, 3)
    missing = reasons("staff", admin)
    assert missing == {"甲二员工": "short_hours", "特种工二": "untrained", "乙一员工": "untrained"}
    assert "派遣工" not in missing and "更正工" not in missing


def test_correction_that_lowers_hours_below_the_rule_makes_a_person_short(world, data):
    # 派遣工 joined in 2025 and needs 24 h; a correction of the 24 h record down to 12 h leaves 12 short.
    from tests.coverage.helpers import record
    from trainapp.courses.models import TrainingRecord

    original = db.session.query(TrainingRecord).filter_by(person_id=data["dispatched"].id).one()
    record(data["dispatched"], 12, original.occurred_on, kind="correction", corrects=original)
    db.session.commit()
    assert reasons("staff", world.users["admin"])["派遣工"] == "short_hours"


def test_permits_regulators_and_exams(world, data):
    admin = world.users["admin"]
    permits = figure("permits", admin).overall
    assert (permits.total, permits.covered) == (2, 1)
    assert reasons("permits", admin) == {"特种工二": "no_permit"}
    regulators = figure("regulators", admin)
    assert (regulators.overall.total, regulators.overall.covered) == (2, 1)
    assert regulators.streets == [(None, "")]  # a district agency has no street
    assert reasons("regulators", admin) == {"执法人员乙": "untrained"}
    took = figure("exam_participation", admin).overall
    assert (took.total, took.covered) == (13, 2)
    passed = figure("exam_pass", admin).overall
    assert (passed.total, passed.covered) == (2, 1)
    assert reasons("exam_pass", admin) == {"乙一员工": "not_passed"}


def test_measures_without_data_say_so_instead_of_zero(world, db):
    admin = world.users["admin"]
    period = Period.year_of(YEAR, TODAY)
    rows = {r["measure"].code: r for r in service.summary(admin, period)}
    # The world has principals but no training records at all: not 0 %, no data.
    assert rows["principals"]["figure"].total == 1
    assert rows["principals"]["figure"].percent is None
    assert rows["principals"]["status"] == "no_data"
    assert rows["permits"]["status"] == "no_data"
    assert rows["leaders"]["figure"].total == 0 and rows["leaders"]["status"] == "no_data"


def test_status_against_targets(world, data):
    service.seed_targets()
    db.session.commit()
    admin = world.users["admin"]
    rows = {r["measure"].code: r for r in service.summary(admin, Period.year_of(YEAR, TODAY))}
    # 100 % by 2024-12-31, 25 % on 2026-03-01: overdue.
    assert rows["principals"]["status"] == "overdue"
    # The regulators' target runs to the end of 2026: behind, not yet overdue.
    assert rows["regulators"]["status"] == "behind"
    assert rows["exam_pass"]["status"] == "no_target"
    target = rows["permits"]["target"]
    target.percent = 50.0
    db.session.commit()
    rows = {r["measure"].code: r for r in service.summary(admin, Period.year_of(YEAR, TODAY))}
    assert rows["permits"]["status"] == "met"


def test_scope_limits_every_measure(world, data):
    a = figure("staff", world.users["manager_a"])
    assert (a.overall.total, a.overall.covered) == (4, 2)
    assert [s for s, _ in a.streets] == [world.street_a.id]
    trade = figure("principals", world.users["manager_trade"])
    assert (trade.overall.total, trade.overall.covered) == (3, 1)  # 工贸 in both streets, not 危化
    ent = figure("staff", world.users["entadmin_b1"])
    assert (ent.overall.total, ent.overall.covered) == (3, 2)
    assert reasons("principals", world.users["manager_b"]) == {"主要负责人丁": "untrained"}
    # A street manager does not see the district agency's regulators.
    assert figure("regulators", world.users["manager_a"]).overall.total == 0


def test_units_of_a_cell_worst_first(world, data):
    units = service.units(MEASURES["staff"], world.users["admin"], Period.year_of(YEAR, TODAY), service.context(),
                          world.street_a.id, None)
    assert [(u["name"], u["figure"].total, u["figure"].covered) for u in units] == [
        ("甲街道化工企业", 2, 0), ("甲街道粉尘企业", 2, 2)]


def test_key_sectors_are_a_setting(world, data):
    service.set_setting("key_sectors", "hazardous_chemicals")
    db.session.commit()
    m = figure("principals", world.users["admin"])
    assert (m.overall.total, m.overall.covered) == (1, 0)


def test_trend_by_month(world, data):
    trend = service.monthly_trend(MEASURES["staff"], world.users["admin"], YEAR, TODAY, service.context())
    assert [label for label, _ in trend][:2] == ["2025-01", "2025-02"] and len(trend) == 12
    covered = [fig.covered for _, fig in trend]
    assert covered == sorted(covered)  # records accumulate over the year
    assert trend[-1][1].covered == 5
    # In May, 派遣工 had joined (1 May) but not yet trained; 甲一员工 trained on 5 May.
    may = dict(trend)["2025-05"]
    assert may.covered == 1


def test_next_report_due(world, db):
    service.set_setting("report_due_day", "5")
    assert service.next_report_due(dt.date(2026, 3, 1)) == dt.date(2026, 3, 5)
    assert service.next_report_due(dt.date(2026, 3, 6)) == dt.date(2026, 4, 5)
    assert service.next_report_due(dt.date(2026, 12, 20)) == dt.date(2027, 1, 5)
    service.set_setting("report_due_day", "20")
    assert service.next_report_due(dt.date(2026, 3, 20)) == dt.date(2026, 3, 20)


def test_drills_on_time_and_open_plan_revisions(world, data):
    admin = world.users["admin"]
    m = figure("drills", admin)
    assert (m.overall.total, m.overall.covered) == (5, 3)  # the mid-year newcomer is not late yet
    assert (m.col_total[world.street_a.id].total, m.col_total[world.street_a.id].covered) == (2, 1)
    period = Period.year_of(YEAR, TODAY)
    late = service.missing_units(MEASURES["drills"], admin, period, service.context())
    assert {(u["unit_name"], u["reason"]) for u in late} == {("甲街道化工企业", "drill_never"),
                                                              ("乙镇商场", "drill_never")}
    assert (m.col_total[world.street_b.id].total, m.col_total[world.street_b.id].covered) == (3, 2)
    # The same newcomer, looked at on 2 January 2027, has missed its first (2026) drill.
    later = Period(dt.date(2027, 1, 1), dt.date(2027, 1, 2), dt.date(2027, 1, 2))
    late_then = {u["unit_name"]: u["reason"] for u in service.missing_units(MEASURES["drills"], admin, later,
                                                                            service.context())}
    assert late_then["乙镇新厂"] == "drill_never"
    rev = figure("drill_revisions", admin)
    assert (rev.overall.total, rev.overall.covered) == (2, 1)
    open_units = service.missing_units(MEASURES["drill_revisions"], admin, period, service.context())
    assert [u["unit_name"] for u in open_units] == ["乙镇机械企业"]
    # Scope: street A's manager sees only street A's enterprises.
    a = figure("drills", world.users["manager_a"])
    assert (a.overall.total, a.overall.covered) == (2, 1)
    units = service.units(MEASURES["drills"], world.users["manager_a"], period, service.context(), world.street_a.id,
                          None)
    assert [(u["name"], u["figure"].covered) for u in units] == [("甲街道化工企业", 0), ("甲街道粉尘企业", 1)]


@pytest.mark.parametrize("who", ["admin", "manager_a", "manager_trade", "entadmin_b1"])
def test_person_counts_agree_with_the_member_lists(world, data, who):
    """The figures come from one grouped pass over all five person measures; the missing lists come from a
    member-level statement. Both must count the same people as covered, cell by cell and unit by unit."""
    from sqlalchemy import func, select

    from trainapp.coverage.measures import PERSON_RULES

    user = world.users[who]
    period, ctx = Period.year_of(YEAR, TODAY), service.context()
    codes = list(PERSON_RULES)
    together = service.people_cells(user, period, ctx, codes)
    by_unit = service.people_cells(user, period, ctx, codes, by_unit=("principals",))
    nonzero = 0
    for code in codes:
        members = MEASURES[code].statement(user, period, ctx).subquery()
        for keys, frame in ((("street_id", "sector_id"), together[code]),
                            (("street_id", "sector_id", "unit_id") if code == "principals"
                             else ("street_id", "sector_id"), by_unit[code])):
            cols = [members.c[k] for k in keys]
            expected = {tuple(r[:-2]): (r[-2], r[-1]) for r in db.session.execute(
                select(*cols, func.count(), func.sum(members.c.covered)).group_by(*cols))}
            got = {tuple(None if r[k] != r[k] else int(r[k]) for k in keys): (int(r["total"]), int(r["covered"]))
                   for _i, r in frame.iterrows()}
            assert got == expected, (code, keys)
        nonzero += sum(t for t, _c in expected.values())
        # The member list's reasons are given exactly for the members not covered.
        missing = db.session.execute(select(func.count()).select_from(members).where(members.c.covered == 0)).scalar()
        with_reason = db.session.execute(select(func.count()).select_from(members)
                                         .where(members.c.reason.is_not(None))).scalar()
        assert missing == with_reason, code
    assert nonzero > 0


def test_worst_units_with_a_limit_are_the_head_of_the_full_list(world, data):
    period, ctx = Period.year_of(YEAR, TODAY), service.context()
    m = MEASURES["staff"]
    fine = service.unit_cells(m, world.users["admin"], period, ctx)
    full = service.units_from(m, fine, True)
    assert len(full) >= 3
    percents = [u["figure"].percent for u in full]
    assert percents == sorted(percents)
    for n in (1, 2, len(full)):
        head = service.units_from(m, fine, True, limit=n)
        assert len(head) == n
        assert [u["figure"].percent for u in head] == percents[:n]
        assert {u["id"] for u in head} <= {u["id"] for u in full}
    assert service.units_from(m, fine, True, limit=len(full)) == full


@pytest.mark.parametrize("who", ["admin", "manager_a"])
def test_yearly_totals_and_summed_records_give_the_same_figures(world, data, who, monkeypatch):
    """A calendar year reads PersonYearHours (kept by triggers); any other range sums the records. Forced
    down the summing path, the same year must give the same cells and reasons."""
    from trainapp.coverage.measures import PERSON_RULES

    user = world.users[who]
    period, ctx = Period.year_of(YEAR, TODAY), service.context()
    assert period.whole_year
    codes = list(PERSON_RULES)

    def figures():
        cells = service.people_cells(user, period, ctx, codes)
        lists = {code: sorted((r.name, r.reason) for r in db.session.execute(
            service.missing_statement(MEASURES[code], user, period, ctx))) for code in ("staff", "principals")}
        return {code: sorted(map(tuple, frame.astype(object).values.tolist())) for code, frame in cells.items()}, lists

    from_totals = figures()
    monkeypatch.setattr(Period, "whole_year", property(lambda self: False))
    from_records = figures()
    assert from_totals == from_records
    assert any(reason == "short_hours" for _n, reason in from_totals[1]["staff"])
