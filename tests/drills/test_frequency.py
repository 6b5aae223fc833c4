"""The frequency rule: which enterprises drill every half-year, calendar periods, registration, statuses."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from tests import factories
from tests.drills.helpers import LONG_AGO, make_drill
from trainapp.drills import service
from trainapp.drills.models import DrillRule
from trainapp.drills.service import compute_status, next_period_start, period_end, period_start

D = dt.date


# --- calendar periods ---------------------------------------------------------------------

@pytest.mark.parametrize("day,months,start,end", [
    (D(2025, 1, 1), 6, D(2025, 1, 1), D(2025, 6, 30)),
    (D(2025, 6, 30), 6, D(2025, 1, 1), D(2025, 6, 30)),
    (D(2025, 7, 1), 6, D(2025, 7, 1), D(2025, 12, 31)),
    (D(2025, 12, 31), 6, D(2025, 7, 1), D(2025, 12, 31)),
    (D(2025, 12, 31), 12, D(2025, 1, 1), D(2025, 12, 31)),
    (D(2024, 2, 29), 12, D(2024, 1, 1), D(2024, 12, 31)),
    (D(2025, 2, 10), 3, D(2025, 1, 1), D(2025, 3, 31)),
    (D(2025, 11, 5), 3, D(2025, 10, 1), D(2025, 12, 31)),
])
def test_periods(day, months, start, end):
    assert period_start(day, months) == start
    assert period_end(day, months) == end
    assert next_period_start(day, months) == end + dt.timedelta(days=1)


# --- status across half-year and year boundaries -------------------------------------------

def status(months, last, on, registered=D(2020, 1, 1), soon=30):
    return compute_status(1, months, registered, last, on, soon)


def test_half_year_drill_on_last_day_of_june_covers_the_first_half():
    st = status(6, D(2025, 6, 30), D(2025, 7, 1))
    assert (st.code, st.due_on) == ("up_to_date", D(2025, 12, 31))


def test_half_year_without_a_drill_in_the_first_half_is_overdue_from_1_july():
    assert status(6, D(2024, 11, 20), D(2025, 6, 30)).code == "due_soon"
    st = status(6, D(2024, 11, 20), D(2025, 7, 1))
    assert (st.code, st.due_on, st.overdue_since) == ("overdue", D(2025, 6, 30), D(2025, 7, 1))


def test_overdue_since_counts_from_the_first_missed_period():
    """Last drilled in 2023 H1: 2023 H2 was missed, so it is overdue since 1 January 2024."""
    st = status(6, D(2023, 3, 1), D(2025, 8, 1))
    assert (st.code, st.overdue_since) == ("overdue", D(2024, 1, 1))


def test_yearly_across_the_year_boundary():
    assert status(12, D(2024, 12, 31), D(2025, 1, 1)).due_on == D(2025, 12, 31)
    assert status(12, D(2024, 12, 31), D(2025, 1, 1)).code == "up_to_date"
    # A drill early in 2023 covers 2023; nothing in 2024 makes it overdue from the first day of 2025.
    st = status(12, D(2023, 1, 5), D(2025, 1, 1))
    assert (st.code, st.overdue_since) == ("overdue", D(2025, 1, 1))
    assert status(12, D(2023, 1, 5), D(2024, 12, 31)).code == "due_soon"
    assert status(12, D(2024, 1, 5), D(2025, 1, 1)).code == "up_to_date"


def test_due_soon_window_edges():
    # 31 days before the deadline: still up to date; 30 days: due soon; the deadline itself: due soon.
    assert status(12, D(2024, 3, 1), D(2025, 11, 30)).code == "up_to_date"
    assert status(12, D(2024, 3, 1), D(2025, 12, 1)).code == "due_soon"
    assert status(12, D(2024, 3, 1), D(2025, 12, 31)).code == "due_soon"
    assert status(12, D(2024, 3, 1), D(2025, 12, 1), soon=10).code == "up_to_date"


def test_drill_in_the_current_period_moves_the_deadline_to_the_end_of_the_next():
    st = status(6, D(2025, 12, 20), D(2025, 12, 21))
    assert (st.code, st.due_on) == ("up_to_date", D(2026, 6, 30))


# --- registration -------------------------------------------------------------------------------

def test_registered_mid_year_owes_the_first_full_period():
    reg = D(2025, 3, 10)
    assert status(12, None, D(2025, 12, 31), registered=reg).code == "none_yet"
    assert status(12, None, D(2025, 12, 31), registered=reg).due_on == D(2026, 12, 31)
    assert status(12, None, D(2026, 12, 15), registered=reg).code == "due_soon"
    st = status(12, None, D(2027, 1, 1), registered=reg)
    assert (st.code, st.overdue_since) == ("overdue", D(2027, 1, 1))
    assert status(6, None, D(2025, 5, 1), registered=reg).due_on == D(2025, 12, 31)


def test_registered_on_the_first_day_of_a_period_owes_that_period():
    assert status(12, None, D(2025, 6, 1), registered=D(2025, 1, 1)).due_on == D(2025, 12, 31)
    assert status(6, None, D(2025, 8, 1), registered=D(2025, 7, 1)).due_on == D(2025, 12, 31)


def test_a_drill_in_the_registration_period_counts():
    reg = D(2025, 3, 10)
    assert status(6, D(2025, 4, 1), D(2025, 5, 1), registered=reg).due_on == D(2025, 12, 31)
    st = status(12, D(2025, 4, 1), D(2025, 5, 1), registered=reg)
    assert (st.code, st.due_on) == ("up_to_date", D(2026, 12, 31))


def test_a_historical_drill_before_registration_does_not_make_it_overdue():
    st = status(12, D(2023, 5, 1), D(2025, 6, 1), registered=D(2025, 3, 10))
    assert (st.code, st.due_on) == ("up_to_date", D(2026, 12, 31))


# --- which enterprises drill every half-year: every combination of flags and sector ------------------

FLAGS = ("high_risk", "crowded_venue", "fire_key_unit", "factory_in_factory", "key_enterprise")
HALF_YEARLY_FLAGS = {"high_risk", "crowded_venue", "fire_key_unit", "factory_in_factory"}


def test_every_combination_of_flags_and_sector(world, db):
    construction = factories.sector("construction", "建筑施工")
    healthcare = factories.sector("healthcare", "医疗卫生")
    gas = factories.sector("gas", "燃气")
    gas.high_risk = True
    smelting = factories.sector("metal_smelting_sub", "冶炼（子行业）", parent=gas)
    sectors = {"trade": (world.trade, False), "dust": (world.dust, False), "construction": (construction, True),
               "healthcare": (healthcare, True), "gas": (gas, True), "gas_child": (smelting, True)}
    expected = {}
    for sector_name, (sector, sector_half) in sectors.items():
        for combo in itertools.product((False, True), repeat=len(FLAGS)):
            flags = dict(zip(FLAGS, combo))
            ent = factories.enterprise(world.street_a, sector, **flags)
            half = sector_half or any(flags[f] for f in HALF_YEARLY_FLAGS)
            expected[ent.id] = (6 if half else 12, sector_name, flags)
    db.session.commit()
    statuses = service.enterprise_statuses(list(expected), D(2025, 8, 1))
    assert len(statuses) == len(expected) == 6 * 32
    wrong = {i: (statuses[i].months, exp) for i, exp in expected.items() if statuses[i].months != exp[0]}
    assert wrong == {}
    # The per-enterprise explanation agrees with the SQL.
    from trainapp.org.models import Enterprise

    rules = service.load_rules()
    for ent_id in list(expected)[::7]:
        ent = db.session.get(Enterprise, ent_id)
        assert {r.months for r in service.rules_for(ent, rules)} == {expected[ent_id][0]}


def test_rules_are_data_and_replace_the_defaults(world, db):
    assert service.enterprise_statuses([world.ent_b1.id], D(2025, 8, 1))[world.ent_b1.id].months == 12
    added = service.seed_rules()
    # The test world has no 建筑施工 or 医疗卫生 sector, so their rules are skipped.
    assert sorted((r.match, r.flag or "", r.months) for r in added) == [
        ("all", "", 12), ("flag", "crowded_venue", 6), ("flag", "factory_in_factory", 6), ("flag", "fire_key_unit", 6),
        ("flag", "high_risk", 6), ("high_risk_sector", "", 6)]
    assert all(r.source for r in added)
    db.session.add(DrillRule(match="sector", sector_id=world.trade.id, months=6, source="区级规定"))
    db.session.commit()
    got = service.enterprise_statuses([world.ent_b1.id, world.ent_a1.id, world.ent_a2.id], D(2025, 8, 1))
    assert got[world.ent_b1.id].months == 6
    assert got[world.ent_a1.id].months == 6  # 粉尘涉爆 is a sub-sector of 工贸
    assert got[world.ent_a2.id].months == 12  # the test world's 危化 sector is not marked high-risk
    # Switching a rule off takes effect at once; seeding again adds nothing twice.
    for rule in db.session.scalars(db.select(DrillRule).where(DrillRule.sector_id == world.trade.id)):
        rule.active = False
    db.session.commit()
    assert service.enterprise_statuses([world.ent_b1.id], D(2025, 8, 1))[world.ent_b1.id].months == 12
    assert service.seed_rules() == []


# --- statuses from the database -------------------------------------------------------------------

def test_statuses_from_drills_in_the_database(world, db):
    a1, a2, b1 = world.ent_a1, world.ent_a2, world.ent_b1
    for ent in (a1, a2, b1):
        ent.created_at = LONG_AGO
    make_drill(a1, D(2025, 3, 1))
    make_drill(a2, D(2025, 3, 1), kind="special_plan")  # does not count towards the evacuation frequency
    make_drill(b1, D(2024, 5, 1), kind="fire")
    make_drill(b1, D(2025, 9, 1))  # after `on`: ignored
    db.session.commit()
    got = service.enterprise_statuses([a1.id, a2.id, b1.id], D(2025, 8, 1))
    assert (got[a1.id].code, got[a1.id].last_held_on, got[a1.id].due_on) == ("up_to_date", D(2025, 3, 1),
                                                                              D(2026, 12, 31))
    assert (got[a2.id].code, got[a2.id].last_held_on, got[a2.id].overdue_since) == ("overdue", None, D(2021, 1, 1))
    assert (got[b1.id].code, got[b1.id].due_on) == ("up_to_date", D(2025, 12, 31))
    counts = service.drill_status_counts(db.true(), D(2025, 8, 1))
    assert counts == {"overdue": 1, "due_soon": 0, "up_to_date": 2, "none_yet": 0, "total": 3}


def test_registration_date_is_the_shanghai_date(world, db):
    ent = world.ent_a2
    ent.high_risk = True
    ent.created_at = dt.datetime(2025, 6, 30, 17, 0, tzinfo=dt.timezone.utc)  # 1 July, 01:00 in Shanghai
    db.session.commit()
    st = service.enterprise_statuses([ent.id], D(2025, 8, 1))[ent.id]
    assert (st.months, st.code, st.due_on) == (6, "none_yet", D(2025, 12, 31))
    ent.created_at = dt.datetime(2025, 6, 30, 15, 0, tzinfo=dt.timezone.utc)  # 30 June, 23:00 in Shanghai
    db.session.commit()
    assert service.enterprise_statuses([ent.id], D(2025, 8, 1))[ent.id].due_on == D(2025, 12, 31)
    assert service.enterprise_statuses([ent.id], D(2025, 2, 1))[ent.id].due_on == D(2025, 12, 31)


def test_open_revisions_are_counted_per_scope(world, db):
    from trainapp.org.models import Enterprise

    make_drill(world.ent_a1, D(2025, 3, 1), revision_state="open")
    make_drill(world.ent_a1, D(2025, 4, 1), revision_state="closed", revision_closed_on=D(2025, 5, 1),
               revision_notes="修订了疏散路线")
    make_drill(world.ent_b1, D(2025, 3, 1), revision_state="open")
    db.session.commit()
    assert service.open_revision_count(db.true()) == 2
    assert service.open_revision_count(Enterprise.street_id == world.street_a.id) == 1
    assert service.open_revision_enterprise_count(Enterprise.street_id == world.street_b.id) == 1
