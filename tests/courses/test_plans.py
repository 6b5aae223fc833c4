"""Annual training plans: planned against actual on constructed data, area plans, forms and scope."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from, post_form
from trainapp.audit import AuditEvent
from trainapp.courses import plans, service
from trainapp.courses.models import Course, TrainingPlan, TrainingPlanItem, TrainingRecord

YEAR = 2026
ME = "/archive/me"  # any signed-in user's page with a CSRF token


def rec(db, person, on, *, course=None, kind=None, enterprise=None, hours=1.0, title="培训") -> TrainingRecord:
    r = TrainingRecord(person_id=person.id, enterprise_id=enterprise.id if enterprise else person.enterprise_id,
                       kind=kind or ("lesson" if course else "classroom"), title=title, hours=hours, occurred_on=on,
                       course_id=course.id if course else None)
    db.session.add(r)
    db.session.flush()
    return r


def make_plan(db, items, enterprise=None, street=None, sector=None, year=YEAR, title="年度计划") -> TrainingPlan:
    plan = TrainingPlan(year=year, title=title, enterprise_id=enterprise.id if enterprise else None,
                        street_id=street.id if street else None, sector_id=sector.id if sector else None)
    for month, course, topic, audience, headcount in items:
        plan.items.append(TrainingPlanItem(month=month, course_id=course.id if course else None, topic=topic,
                                           audience=audience, planned_headcount=headcount))
    db.session.add(plan)
    db.session.commit()
    return plan


@pytest.fixture
def course(db):
    c = Course(title="安全生产法解读", status="published")
    db.session.add(c)
    db.session.commit()
    return c


@pytest.fixture
def constructed(world, db, course):
    """ent_a1 staff trained in March/April 2026; others elsewhere, in other years, or corrected away."""
    ent = world.ent_a1
    staff = factories.person(ent, "普通员工", audience="staff")
    boss = factories.person(ent, "负责人", audience="principal")
    late = factories.person(ent, "四月才学", audience="staff")
    moved = factories.person(ent, "更正员工", audience="staff")
    other = world.staff_a2  # ent_a2, same street
    far = world.staff_b1  # ent_b1, other street
    rec(db, staff, dt.date(YEAR, 3, 2), course=course)
    rec(db, staff, dt.date(YEAR, 3, 20), course=course)  # the same person twice: counted once
    rec(db, boss, dt.date(YEAR, 3, 31), course=course)
    rec(db, late, dt.date(YEAR, 4, 1), course=course)
    rec(db, late, dt.date(YEAR - 1, 3, 5), course=course)  # last year
    wrong = rec(db, moved, dt.date(YEAR, 3, 10), course=course)
    rec(db, other, dt.date(YEAR, 3, 5), course=course)
    rec(db, far, dt.date(YEAR, 3, 6), course=course)
    rec(db, staff, dt.date(YEAR, 4, 8), title="消防演练培训")  # classroom
    rec(db, boss, dt.date(YEAR, 4, 9), title="消防演练培训")
    rec(db, late, dt.date(YEAR, 3, 9), title="三月线下培训")
    rec(db, boss, dt.date(YEAR, 4, 10), course=course, kind="exam", title="考试")  # a course record in April
    db.session.commit()
    service.correct(wrong, world.users["admin"], "实际在四月参加", occurred_on=dt.date(YEAR, 4, 15))
    db.session.commit()
    return {"staff": staff, "boss": boss, "late": late, "moved": moved}


def test_planned_against_actual_for_an_enterprise(world, db, course, constructed):
    plan = make_plan(db, [(3, course, "", "", 3), (3, course, "", "principal", 1), (4, None, "消防专题", "", 2),
                          (4, None, "消防专题（负责人）", "principal", 5)], enterprise=world.ent_a1)
    t = plans.table(plan)
    by_key = {(r["item"].month, r["item"].audience, bool(r["item"].course_id)): r for r in t["rows"]}
    march_all = by_key[(3, "", True)]
    # March, the course, anyone: 普通员工 (twice) and 负责人; not the corrected one, not other units.
    assert march_all["actual"] == 2
    assert march_all["months"] == {3: 2, 4: 3}  # April: 四月才学, 更正员工 (after correction), 负责人 (exam)
    assert by_key[(3, "principal", True)]["actual"] == 1
    assert by_key[(4, "", False)]["actual"] == 2 and by_key[(4, "", False)]["months"] == {3: 1, 4: 2}
    assert by_key[(4, "principal", False)]["actual"] == 1
    assert t["planned"][3] == 4 and t["actual"][3] == 3
    assert t["planned"][4] == 7 and t["actual"][4] == 3
    assert t["planned"][5] == 0 and t["actual"][5] == 0


def test_plan_page_shows_the_table(client, login, world, db, course, constructed):
    plan = make_plan(db, [(3, course, "", "", 3), (4, None, "消防专题", "", 2)], enterprise=world.ent_a1)
    login("entadmin_a1")
    page = client.get(f"/plans/{plan.id}").text
    item = plan.items[0]
    row = page[page.index(f'id="item-{item.id}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'planned-cell table-warning" data-month="3"><strong class="actual">2</strong> / '
                     r'<span class="planned">3</span>', row)
    assert re.search(r'data-month="4">3</td>', row)  # people trained in another month are shown too
    totals = page[page.index('id="plan-totals"'):]
    assert '<td class="text-center" data-month="3">2 / 3</td>' in totals
    assert '<td class="text-center" data-month="4">2 / 2</td>' in totals


def test_area_plans_count_every_enterprise_in_the_street_or_sector(world, db, course, constructed):
    street_plan = make_plan(db, [(3, course, "", "", 10)], street=world.street_a)
    sector_plan = make_plan(db, [(3, course, "", "", 10)], sector=world.trade)
    both = make_plan(db, [(3, course, "", "", 10)], street=world.street_b, sector=world.trade)
    # Street A: 普通员工, 负责人 (ent_a1) and 甲二员工 (ent_a2); not 乙一员工 (street B).
    assert plans.table(street_plan)["rows"][0]["actual"] == 3
    # 工贸 and its sub-sectors: ent_a1 (粉尘涉爆) and ent_b1 (工贸); not ent_a2 (危化).
    assert plans.table(sector_plan)["rows"][0]["actual"] == 3
    assert plans.table(both)["rows"][0]["actual"] == 1


# --- forms --------------------------------------------------------------------------------------

def test_enterprise_admin_creates_a_plan_and_items(client, login, world, db, course):
    login("entadmin_a1")
    page = client.get(f"/plans/new?enterprise={world.ent_a1.id}")
    assert page.status_code == 200 and "street_id" not in page.text
    token = csrf_from(page.text)
    resp = client.post("/plans/new", data={"csrf_token": token, "year": "2026", "title": "2026 年安全培训计划",
                                           "enterprise_id": str(world.ent_b1.id)})
    assert resp.status_code == 200 and "is-invalid" in resp.text  # not one of theirs
    resp = client.post("/plans/new", data={"csrf_token": token, "year": "2026", "title": "2026 年安全培训计划",
                                           "enterprise_id": str(world.ent_a1.id)})
    assert resp.status_code == 302
    plan = db.session.scalar(select(TrainingPlan))
    assert (plan.enterprise_id, plan.year, plan.street_id) == (world.ent_a1.id, 2026, None)
    url = f"/plans/{plan.id}/items"
    page_url = f"/plans/{plan.id}"
    base = {"month": "5", "audience": "", "planned_headcount": "20"}
    post_form(client, url, {**base, "course_id": str(course.id), "topic": "也写了主题"}, page_url=page_url)
    post_form(client, url, {**base, "course_id": "0", "topic": ""}, page_url=page_url)
    assert db.session.scalar(select(func.count(TrainingPlanItem.id))) == 0
    post_form(client, url, {**base, "course_id": str(course.id), "topic": ""}, page_url=page_url)
    post_form(client, url, {**base, "month": "6", "course_id": "0", "topic": "有限空间专题", "audience": "staff"},
              page_url=page_url)
    items = db.session.scalars(select(TrainingPlanItem).order_by(TrainingPlanItem.month)).all()
    assert [(i.month, i.course_id, i.topic, i.audience, i.planned_headcount) for i in items] == [
        (5, course.id, "", "", 20), (6, None, "有限空间专题", "staff", 20)]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type.in_(("training_plan", "training_plan_item")))) == 3
    resp = post_form(client, f"/plans/{plan.id}/items/{items[0].id}/delete", {}, page_url=page_url)
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count(TrainingPlanItem.id))) == 1
    resp = post_form(client, f"/plans/{plan.id}/delete", {}, page_url=page_url)
    assert resp.status_code == 302 and db.session.scalar(select(func.count(TrainingPlan.id))) == 0


def test_unpublished_courses_are_not_offered(client, login, world, db, course):
    draft = Course(title="草稿课程", status="draft")
    db.session.add(draft)
    db.session.commit()
    plan = make_plan(db, [], enterprise=world.ent_a1)
    login("entadmin_a1")
    page = client.get(f"/plans/{plan.id}").text
    assert "安全生产法解读" in page and "草稿课程" not in page
    post_form(client, f"/plans/{plan.id}/items", {"month": "5", "course_id": str(draft.id), "topic": "",
                                                  "planned_headcount": "1"}, page_url=f"/plans/{plan.id}")
    assert db.session.scalar(select(func.count(TrainingPlanItem.id))) == 0


def test_manager_creates_street_and_sector_plans_in_scope_only(client, login, world, db):
    login("manager_a")
    page = client.get("/plans/new")
    token = csrf_from(page.text)
    base = {"csrf_token": token, "year": "2026", "title": "街道培训计划", "enterprise_id": "0"}
    resp = client.post("/plans/new", data={**base, "street_id": "0", "sector_id": "0"})
    assert resp.status_code == 200 and "至少一项" in resp.text
    resp = client.post("/plans/new", data={**base, "street_id": str(world.street_b.id), "sector_id": "0"})
    assert resp.status_code == 200 and db.session.scalar(select(func.count(TrainingPlan.id))) == 0
    resp = client.post("/plans/new", data={**base, "street_id": "0", "sector_id": str(world.chem.id)})
    assert resp.status_code == 200 and "不在您的管理范围内" in resp.text  # every street: beyond street A
    resp = client.post("/plans/new", data={**base, "street_id": str(world.street_a.id), "sector_id": "0"})
    assert resp.status_code == 302
    plan = db.session.scalar(select(TrainingPlan))
    assert (plan.street_id, plan.sector_id, plan.enterprise_id) == (world.street_a.id, None, None)
    post_form(client, "/auth/logout", {}, page_url=ME)
    login("manager_trade")
    token = csrf_from(client.get("/plans/new").text)
    resp = client.post("/plans/new", data={**base, "csrf_token": token, "title": "工贸计划", "street_id": "0",
                                           "sector_id": str(world.trade.id)})
    assert resp.status_code == 302
    assert client.get(f"/plans/{plan.id}").status_code == 404  # street A, all sectors: beyond 工贸


@pytest.fixture
def two_plans(world, db, course):
    return {"a1": make_plan(db, [(3, course, "", "", 1)], enterprise=world.ent_a1),
            "street_a": make_plan(db, [(3, course, "", "", 1)], street=world.street_a),
            "b1": make_plan(db, [(3, course, "", "", 1)], enterprise=world.ent_b1)}


@pytest.mark.parametrize("who,visible", [
    ("entadmin_a1", {"a1"}), ("entadmin_b1", {"b1"}), ("manager_a", {"a1", "street_a"}), ("manager_b", {"b1"}),
    ("manager_district", {"a1", "street_a", "b1"}), ("admin", {"a1", "street_a", "b1"}), ("regulator", {"a1", "b1"}),
])
def test_plans_are_scoped(client, login, world, db, two_plans, who, visible):
    login(who)
    listing = client.get("/plans/").text
    for key, plan in two_plans.items():
        shown = f'href="/plans/{plan.id}"' in listing
        assert shown == (key in visible), key
        assert client.get(f"/plans/{plan.id}").status_code == (200 if key in visible else 404), key


@pytest.mark.parametrize("who,status", [("entadmin_b1", 404), ("manager_b", 404), ("regulator", 403)])
def test_plan_changes_are_scoped(client, login, world, db, two_plans, course, who, status):
    login(who)
    plan = two_plans["a1"]
    item = plan.items[0]
    assert client.get(f"/plans/{plan.id}/edit").status_code == status
    for url, data in ((f"/plans/{plan.id}/items", {"month": "4", "course_id": str(course.id),
                                                   "planned_headcount": "3"}),
                      (f"/plans/{plan.id}/items/{item.id}/delete", {}), (f"/plans/{plan.id}/delete", {})):
        assert post_form(client, url, data, page_url=ME).status_code == status, url
    assert db.session.scalar(select(func.count(TrainingPlanItem.id)).where(TrainingPlanItem.plan_id == plan.id)) == 1


def test_regulator_sees_but_cannot_edit(client, login, world, db, two_plans):
    login("regulator")
    page = client.get(f"/plans/{two_plans['a1'].id}").text
    assert 'id="plan-table"' in page and 'id="item-form"' not in page
