"""Assigning courses: an enterprise admin to departments, audience groups or named people of their
enterprise; a manager to audiences across the enterprises of their scope (narrowed by street and
sector); the preview count; due dates; the list with its counts; withdrawal.

Scope rule under test: targets come only from in-scope queries; an out-of-scope person id in the
request rejects the whole request and enrols nobody.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from
from tests.courses.helpers import make_course
from trainapp.audit import AuditEvent
from trainapp.courses import service
from trainapp.courses.models import Enrolment
from trainapp.extensions import db as _db
from trainapp.org.models import Department


@pytest.fixture
def setup(world):
    """ent_a1 staff: a workshop (一车间) with two active people and one who left, a safety manager,
    a named worker; principals in ent_a1 (the learner and one more), ent_a2 and ent_b1."""
    dept = _db.session.scalars(select(Department).where(Department.enterprise_id == world.ent_a1.id)).one()
    office = Department(enterprise_id=world.ent_a1.id, name="办公室")
    _db.session.add(office)
    _db.session.flush()
    people = {
        "ws1": factories.person(world.ent_a1, "车间甲", department_id=dept.id),
        "ws2": factories.person(world.ent_a1, "车间乙", department_id=dept.id, audience="special_worker"),
        "ws_left": factories.person(world.ent_a1, "车间离职", department_id=dept.id, status="left"),
        "safety": factories.person(world.ent_a1, "安全员", audience="safety_manager", department_id=office.id),
        "named": factories.person(world.ent_a1, "点名员工", department_id=office.id),
        "boss_a1": factories.person(world.ent_a1, "甲一老板", audience="principal"),
        "boss_a2": factories.person(world.ent_a2, "甲二老板", audience="principal"),
        "boss_b1": factories.person(world.ent_b1, "乙一老板", audience="principal"),
        "boss_b1_left": factories.person(world.ent_b1, "乙一前老板", audience="principal", status="left"),
        "learner": world.users["learner"].person,
    }
    course = make_course(title="有限空间作业", owner=world.users["trainer"])
    _db.session.commit()
    return {"world": world, "dept": dept, "office": office, "people": people, "course": course}


def due(days: int = 30) -> str:
    return (service.today() + dt.timedelta(days=days)).isoformat()


def post_form(client, url, data):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def enrolled() -> dict[int, Enrolment]:
    _db.session.expire_all()
    return {e.person_id: e for e in _db.session.scalars(select(Enrolment))}


def ids(setup, *names) -> set[int]:
    return {setup["people"][n].id for n in names}


def unit_url(course, ent) -> str:
    return f"/courses/manage/{course.id}/assign/unit?enterprise={ent.id}"


def area_url(course) -> str:
    return f"/courses/manage/{course.id}/assign/area"


# --- enterprise admins ---------------------------------------------------------------------------

def test_preview_counts_then_confirm_assigns_a_department(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("entadmin_a1")
    url = unit_url(course, world.ent_a1)
    resp = post_form(client, url, {"departments": [str(setup["dept"].id)], "due_on": due(), "preview": "1"})
    assert resp.status_code == 200
    assert "将为 2 人布置《有限空间作业》" in resp.text
    assert "车间甲" in resp.text and "车间离职" not in resp.text
    assert enrolled() == {}  # a preview enrols nobody

    resp = post_form(client, url, {"departments": [str(setup["dept"].id)], "due_on": due(), "confirm": "1"})
    assert resp.status_code == 302
    rows = enrolled()
    assert set(rows) == ids(setup, "ws1", "ws2")
    for row in rows.values():
        assert (row.source, row.status, row.due_on.isoformat(), row.assigned_by_id) == (
            "enterprise", "active", due(), world.users["entadmin_a1"].id)
    event = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assign")).one()
    assert event.entity_type == "course" and event.details["count"] == 2
    assert sorted(event.details["person_ids"]) == sorted(ids(setup, "ws1", "ws2"))


def test_assign_by_audience_group(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("entadmin_a1")
    resp = post_form(client, unit_url(course, world.ent_a1),
                     {"audiences": ["safety_manager", "principal"], "due_on": due(), "confirm": "1"})
    assert resp.status_code == 302
    # Principals of ent_a1 only: not those of ent_a2 or ent_b1.
    assert set(enrolled()) == ids(setup, "safety", "boss_a1", "learner")


def test_assign_to_named_people_and_the_union(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("entadmin_a1")
    resp = post_form(client, unit_url(course, world.ent_a1),
                     {"people": [str(setup["people"]["named"].id), str(world.staff_a1.id)], "due_on": due(),
                      "confirm": "1"})
    assert resp.status_code == 302
    assert set(enrolled()) == ids(setup, "named") | {world.staff_a1.id}

    course2 = make_course(title="第二门课")
    resp = post_form(client, unit_url(course2, world.ent_a1),
                     {"departments": [str(setup["dept"].id)], "audiences": ["safety_manager"],
                      "people": [str(setup["people"]["named"].id)], "due_on": due(), "preview": "1"})
    assert "将为 4 人布置《第二门课》" in resp.text


def test_forged_out_of_scope_person_rejects_the_whole_request(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("entadmin_a1")
    for people in ([str(world.staff_b1.id)], [str(setup["people"]["named"].id), str(world.staff_a2.id)],
                   [str(setup["people"]["ws_left"].id)]):
        resp = post_form(client, unit_url(course, world.ent_a1),
                         {"departments": [str(setup["dept"].id)], "people": people, "due_on": due(), "confirm": "1"})
        assert resp.status_code == 200, people
        assert "所选人员中有不属于本单位在职人员的，本次布置未执行" in resp.text
    resp = post_form(client, unit_url(course, world.ent_a1),
                     {"departments": [str(setup["dept"].id)], "people": ["abc"], "due_on": due(), "confirm": "1"})
    assert resp.status_code == 200
    assert enrolled() == {}


def test_department_of_another_enterprise_is_refused(client, setup, login):
    world, course = setup["world"], setup["course"]
    other = Department(enterprise_id=world.ent_b1.id, name="乙一车间")
    _db.session.add(other)
    _db.session.commit()
    login("entadmin_a1")
    resp = post_form(client, unit_url(course, world.ent_a1),
                     {"departments": [str(other.id)], "due_on": due(), "confirm": "1"})
    assert resp.status_code == 200
    assert enrolled() == {}


def test_enterprise_admin_cannot_reach_another_enterprise(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("entadmin_a1")
    assert client.get(unit_url(course, world.ent_b1)).status_code == 404
    token = csrf_from(client.get("/courses/manage/").text)
    resp = client.post(unit_url(course, world.ent_b1), data={"audiences": ["principal"], "due_on": due(),
                                                             "confirm": "1", "csrf_token": token})
    assert resp.status_code == 404
    assert client.get(area_url(course)).status_code == 403
    assert enrolled() == {}
    # Without ?enterprise= the admin's one enterprise is used.
    assert "甲街道粉尘企业" in client.get(f"/courses/manage/{course.id}/assign/unit").text


def test_due_date_in_the_past_and_empty_choice_are_refused(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("entadmin_a1")
    url = unit_url(course, world.ent_a1)
    resp = post_form(client, url, {"audiences": ["principal"], "due_on": due(-1), "confirm": "1"})
    assert resp.status_code == 200 and "完成期限不能早于今天" in resp.text
    resp = post_form(client, url, {"audiences": ["principal"], "due_on": "", "confirm": "1"})
    assert resp.status_code == 200 and "请填写完成期限" in resp.text
    resp = post_form(client, url, {"due_on": due(), "confirm": "1"})
    assert resp.status_code == 200 and "请至少选择一个部门、人员类别或人员" in resp.text
    assert enrolled() == {}
    assert post_form(client, url, {"audiences": ["principal"], "due_on": due(0), "confirm": "1"}).status_code == 302
    assert set(enrolled()) == ids(setup, "boss_a1", "learner")


def test_only_published_courses_are_assigned(client, setup, login):
    world = setup["world"]
    draft = make_course(title="草稿课程", status="draft", owner=world.users["trainer"])
    login("entadmin_a1")
    assert client.get(unit_url(draft, world.ent_a1)).status_code == 404
    page = client.get("/courses/manage/").text
    assert "有限空间作业" in page and "草稿课程" not in page


# --- managers -------------------------------------------------------------------------------------

def test_manager_assigns_principals_of_trade_enterprises_in_a_street(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("manager_a")
    data = {"audiences": ["principal"], "street_id": str(world.street_a.id), "sector_id": str(world.trade.id),
            "due_on": due()}
    resp = post_form(client, area_url(course), {**data, "preview": "1"})
    assert "将为 2 人布置《有限空间作业》" in resp.text  # ent_a1 is 粉尘涉爆, part of 工贸; ent_a2 is 危化
    resp = post_form(client, area_url(course), {**data, "confirm": "1"})
    assert resp.status_code == 302
    rows = enrolled()
    assert set(rows) == ids(setup, "boss_a1", "learner")
    assert {r.source for r in rows.values()} == {"manager"}
    assert {r.assigned_by_id for r in rows.values()} == {world.users["manager_a"].id}


def test_manager_reaches_only_their_scope(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("manager_a")
    # No street chosen: the whole scope, which is street A only.
    resp = post_form(client, area_url(course), {"audiences": ["principal"], "street_id": "0", "sector_id": "0",
                                                "due_on": due(), "confirm": "1"})
    assert resp.status_code == 302
    assert set(enrolled()) == ids(setup, "boss_a1", "boss_a2", "learner")
    # Street B is not among the choices: the request is refused.
    course2 = make_course(title="第二门课")
    resp = post_form(client, area_url(course2), {"audiences": ["principal"], "street_id": str(world.street_b.id),
                                                 "sector_id": "0", "due_on": due(), "confirm": "1"})
    assert resp.status_code == 200
    assert {e.course_id for e in enrolled().values()} == {course.id}
    # The unit form for ent_b1 is out of reach; for ent_a1 a forged ent_b1 person rejects everything.
    assert client.get(unit_url(course2, world.ent_b1)).status_code == 404
    resp = post_form(client, unit_url(course2, world.ent_a1),
                     {"audiences": ["principal"], "people": [str(setup["people"]["boss_b1"].id)], "due_on": due(),
                      "confirm": "1"})
    assert resp.status_code == 200 and "本次布置未执行" in resp.text
    assert {e.course_id for e in enrolled().values()} == {course.id}
    assert setup["people"]["boss_b1"].id not in enrolled()


def test_sector_manager_reaches_trade_across_streets(client, setup, login):
    course = setup["course"]
    login("manager_trade")
    resp = post_form(client, area_url(course), {"audiences": ["principal"], "street_id": "0", "sector_id": "0",
                                                "due_on": due(), "confirm": "1"})
    assert resp.status_code == 302
    assert set(enrolled()) == ids(setup, "boss_a1", "learner", "boss_b1")  # not 危化 ent_a2, not who left


def test_manager_assignment_needs_an_audience_and_a_future_date(client, setup, login):
    course = setup["course"]
    login("manager_a")
    resp = post_form(client, area_url(course), {"street_id": "0", "sector_id": "0", "due_on": due(), "confirm": "1"})
    assert resp.status_code == 200 and "请至少选择一个人员类别" in resp.text
    resp = post_form(client, area_url(course), {"audiences": ["principal"], "street_id": "0", "sector_id": "0",
                                                "due_on": due(-3), "confirm": "1"})
    assert resp.status_code == 200 and "完成期限不能早于今天" in resp.text
    assert enrolled() == {}


def test_trainers_and_learners_cannot_assign(client, setup, login):
    world, course = setup["world"], setup["course"]
    login("trainer")
    assert client.get(area_url(course)).status_code == 403
    assert client.get(unit_url(course, world.ent_a1)).status_code == 403
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login(world.users["learner"].mobile)
    assert client.get(f"/courses/manage/{course.id}/assignments").status_code == 403


# --- re-assigning, the list, withdrawal -----------------------------------------------------------

def test_reassigning_keeps_the_earlier_due_date_and_reactivates_withdrawn(client, setup, login):
    world, course = setup["world"], setup["course"]
    ws1 = setup["people"]["ws1"]
    login("entadmin_a1")
    url = unit_url(course, world.ent_a1)
    post_form(client, url, {"people": [str(ws1.id)], "due_on": due(10), "confirm": "1"})
    post_form(client, url, {"people": [str(ws1.id)], "due_on": due(40), "confirm": "1"})
    assert enrolled()[ws1.id].due_on.isoformat() == due(10)
    resp = post_form(client, url, {"people": [str(ws1.id)], "due_on": due(5), "preview": "1"})
    assert "其中 1 人已有此课程" in resp.text
    enrolment = enrolled()[ws1.id]
    enrolment.status = "withdrawn"
    _db.session.commit()
    post_form(client, url, {"people": [str(ws1.id)], "due_on": due(5), "confirm": "1"})
    enrolment = enrolled()[ws1.id]
    assert (enrolment.status, enrolment.due_on.isoformat()) == ("active", due(5))
    assert _db.session.scalar(select(func.count(Enrolment.id))) == 1


def test_assignment_list_counts_and_scope(client, setup, login):
    course = setup["course"]
    p = setup["people"]
    rows = {}
    for name, status, due_on in (("ws1", "active", 10), ("ws2", "active", -2), ("safety", "completed", -5),
                                 ("named", "withdrawn", 10), ("boss_b1", "active", -1)):
        e = service.enrol(p[name], course, source="enterprise", due_on=service.today() + dt.timedelta(days=due_on))
        e.status = status
        rows[name] = e
    _db.session.commit()
    login("entadmin_a1")
    page = client.get(f"/courses/manage/{course.id}/assignments")
    assert page.status_code == 200
    text = page.text
    for code, n in (("active", 2), ("overdue", 1), ("completed", 1), ("withdrawn", 1)):
        count = text.split(f'id="count-{code}"', 1)[1].split("</span>", 1)[0]
        assert count.endswith(f">{n}"), (code, count)
    assert "车间甲" in text and "乙一老板" not in text  # ent_b1 is not this admin's
    overdue = client.get(f"/courses/manage/{course.id}/assignments?status=overdue").text
    assert "车间乙" in overdue and "车间甲" not in overdue and "安全员" not in overdue


def test_withdrawal(client, setup, login):
    world, course = setup["world"], setup["course"]
    p = setup["people"]
    login("entadmin_a1")
    post_form(client, unit_url(course, world.ent_a1), {"people": [str(p["ws1"].id), str(p["ws2"].id)],
                                                        "due_on": due(), "confirm": "1"})
    own = service.enrol(p["named"], course, source="self")
    by_manager = service.enrol(p["safety"], course, source="manager", by=world.users["manager_a"])
    other = service.enrol(p["boss_b1"], course, source="enterprise")
    _db.session.commit()
    target = enrolled()[p["ws1"].id]
    listing = f"/courses/manage/{course.id}/assignments"

    def withdraw(enrolment_id):
        token = csrf_from(client.get(listing).text)
        return client.post(f"/courses/manage/enrolments/{enrolment_id}/withdraw", data={"csrf_token": token})

    assert client.post(f"/courses/manage/enrolments/{target.id}/withdraw").status_code == 400  # no CSRF token
    assert enrolled()[p["ws1"].id].status == "active"
    assert withdraw(target.id).status_code == 302
    assert enrolled()[p["ws1"].id].status == "withdrawn"
    event = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "withdraw")).one()
    assert (event.entity_type, event.entity_id, event.actor_id) == ("enrolment", target.id,
                                                                   world.users["entadmin_a1"].id)
    # Not a self-enrolment, not a manager's assignment, not outside the enterprise.
    assert withdraw(own.id).status_code == 302
    assert withdraw(by_manager.id).status_code == 302
    assert withdraw(other.id).status_code == 404
    rows = enrolled()
    assert (rows[p["named"].id].status, rows[p["safety"].id].status, rows[p["boss_b1"].id].status,
            rows[p["ws2"].id].status) == ("active", "active", "active", "active")
    assert _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "withdraw")) == 1

    # The manager who reaches the person may withdraw the manager's assignment.
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("manager_a")
    assert withdraw(by_manager.id).status_code == 302
    assert enrolled()[p["safety"].id].status == "withdrawn"
    assert withdraw(other.id).status_code == 404  # ent_b1 is in street B


def test_confirming_an_empty_selection_assigns_nothing(client, setup, login):
    course = setup["course"]
    login("manager_a")
    resp = post_form(client, area_url(course), {"audiences": ["leader"], "street_id": "0", "sector_id": "0",
                                                "due_on": due(), "confirm": "1"})
    assert resp.status_code == 200 and "没有符合条件的在职人员" in resp.text
    assert enrolled() == {}
    assert _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "assign")) == 0
