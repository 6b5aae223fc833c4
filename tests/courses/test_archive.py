"""Archives (一人一档 / 一企一档): contents, PDF and xlsx, corrections through the form, re-training events,
the yearly compliance pages and the requirement rules; and scope on every page."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from, post_form
from trainapp.audit import AuditEvent
from trainapp.certificates.models import Certificate
from trainapp.certificates.service import ensure_default_template
from trainapp.courses import archive, compliance, service
from trainapp.courses.models import Course, PersonEvent, Requirement, TrainingRecord
from trainapp.org.models import Department

ME = "/archive/me"  # any signed-in user's page with a CSRF token
THIS_YEAR = service.today().year


def add_record(db, person, on, hours, title, kind="classroom", enterprise=None, **kw) -> TrainingRecord:
    rec = TrainingRecord(person_id=person.id, enterprise_id=(enterprise.id if enterprise else person.enterprise_id),
                         kind=kind, title=title, hours=hours, occurred_on=on, **kw)
    db.session.add(rec)
    db.session.flush()
    return rec


def pdf_text(data: bytes) -> str:
    """The PDF's text with all white space removed (table cells wrap)."""
    return re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def xlsx_rows(data: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in ws.iter_rows(values_only=True)]


@pytest.fixture
def archive_world(world, db):
    """The learner (a principal of ent_a1) with three records, one of them corrected; staff elsewhere."""
    compliance.seed_requirements()
    learner = world.users["learner"].person
    learner.joined_on = dt.date(2018, 1, 1)
    course = Course(title="安全生产法解读", status="published")
    db.session.add(course)
    db.session.flush()
    r1 = add_record(db, learner, dt.date(THIS_YEAR, 3, 1), 4, "粉尘防爆专题培训", teacher="王老师", result="合格")
    r2 = add_record(db, learner, dt.date(THIS_YEAR, 1, 15), 2, "安全生产法第一章", kind="lesson", course_id=course.id,
                    result="完成")
    r3 = add_record(db, learner, dt.date(THIS_YEAR - 1, 12, 31), 3, "有限空间作业培训", teacher="李老师")
    cert = Certificate(number="SH-TEST-0001", code="test-code-0001", template_id=ensure_default_template().id,
                       person_id=learner.id, holder_name=learner.name, exam_title="工贸隐患判定考试",
                       issued_on=dt.date(THIS_YEAR, 2, 10))
    db.session.add(cert)
    db.session.flush()
    r4 = add_record(db, learner, dt.date(THIS_YEAR, 2, 10), 0, "工贸隐患判定考试", kind="exam", result="92/100 合格",
                    certificate_id=cert.id)
    add_record(db, world.staff_b1, dt.date(THIS_YEAR, 2, 2), 5, "乙镇机械安全培训")
    add_record(db, world.staff_a2, dt.date(THIS_YEAR, 2, 3), 6, "化工安全培训")
    db.session.commit()
    fixed = service.correct(r1, world.users["admin"], "签到表显示实际 6 学时", hours=6.0)
    db.session.commit()
    return {"learner": learner, "r1": r1, "r2": r2, "r3": r3, "r4": r4, "fixed": fixed, "course": course}


# --- a person's archive ---------------------------------------------------------------------------

def test_my_training_shows_records_in_date_order_with_the_correction(client, login, world, archive_world):
    login(world.users["learner"].mobile)
    page = client.get("/archive/me").text
    r1, r2, r3, r4, fixed = (archive_world[k] for k in ("r1", "r2", "r3", "r4", "fixed"))
    positions = [page.index(f'id="rec-{r.id}"') for r in (r3, r2, r4, r1, fixed)]
    assert positions == sorted(positions)  # 12-31 of last year, 01-15, 02-10, 03-01 (and its correction)
    assert "王老师" in page and "安全生产法解读" in page  # teacher, or the course for an online lesson
    exam_row = page[positions[2]:positions[3]]
    assert "SH-TEST-0001" in exam_row and "92/100 合格" in exam_row
    row = page[page.index(f'id="rec-{r1.id}"'):page.index(f'id="rec-{fixed.id}"')]
    assert "record-corrected" in row and "<del>粉尘防爆专题培训</del>" in row
    assert f'href="#rec-{fixed.id}"' in row and "签到表显示实际 6 学时" in row
    # This year's status: principal, annual 12; accrued 6 (the correction) + 2 = 8.
    assert re.search(r'id="required-hours">12<', page) and re.search(r'id="accrued-hours">8<', page)
    assert "差 4 学时" in page and "安监总局令第3号" in page
    last = client.get(f"/archive/me?year={THIS_YEAR - 1}").text
    assert re.search(r'id="accrued-hours">3<', last)


def test_person_without_a_person_record(client, login, world):
    login("manager_a")
    resp = client.get("/archive/me")
    assert resp.status_code == 200 and "没有关联人员信息" in resp.text


def test_person_pdf_and_xlsx_contain_the_records(client, login, world, archive_world):
    login(world.users["learner"].mobile)
    learner = archive_world["learner"]
    resp = client.get(f"/archive/people/{learner.id}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    for expected in ("培训档案", learner.name, "粉尘防爆专题培训", "安全生产法第一章", "有限空间作业培训", "王老师",
                     "签到表显示实际6学时", f"已更正，见#{archive_world['fixed'].id}",
                     f"更正记录#{archive_world['r1'].id}", f"{THIS_YEAR}年：8学时", "92/100合格SH-TEST-0001"):
        assert expected in text, expected
    assert "乙镇机械安全培训" not in text
    resp = client.get(f"/archive/people/{learner.id}.xlsx")
    rows = xlsx_rows(resp.data)
    assert rows[0][:4] == ["编号", "日期", "培训内容", "说明"]
    assert [r[2] for r in rows[1:]] == ["有限空间作业培训", "安全生产法第一章", "工贸隐患判定考试", "粉尘防爆专题培训",
                                        "粉尘防爆专题培训"]
    assert rows[3][7:9] == ["92/100 合格", "SH-TEST-0001"]
    corrected, correction = rows[4], rows[5]
    assert corrected[5] == 4 and corrected[10] == archive_world["fixed"].id
    assert correction[5] == 6 and correction[9] == archive_world["r1"].id and correction[11] == "签到表显示实际 6 学时"
    assert rows[2][6] == "安全生产法解读" and rows[1][6] == "李老师"


@pytest.mark.parametrize("who,status", [
    ("entadmin_a1", 200), ("manager_a", 200), ("manager_trade", 200), ("regulator", 200), ("admin", 200),
    ("entadmin_b1", 404), ("manager_b", 404), ("trainer", 404),
])
def test_person_archive_scope(client, login, world, archive_world, who, status):
    login(who)
    learner = archive_world["learner"]
    for url in (f"/archive/people/{learner.id}", f"/archive/people/{learner.id}.pdf",
                f"/archive/people/{learner.id}.xlsx"):
        assert client.get(url).status_code == status, url


def test_a_learner_sees_only_their_own_archive(client, login, world, archive_world):
    login(world.users["learner"].mobile)
    assert client.get(f"/archive/people/{world.staff_a1.id}").status_code == 404
    assert client.get(f"/archive/people/{world.staff_a1.id}.pdf").status_code == 404
    assert client.get(f"/archive/people/{archive_world['learner'].id}").status_code == 200
    assert client.get(f"/archive/enterprises/{world.ent_a1.id}").status_code == 404
    assert client.get(f"/archive/enterprises/{world.ent_a1.id}/compliance").status_code == 404


# --- corrections through the form -----------------------------------------------------------------

def test_enterprise_admin_corrects_a_record(client, login, world, archive_world, db):
    login("entadmin_a1")
    r2, learner = archive_world["r2"], archive_world["learner"]
    url = f"/archive/records/{r2.id}/correct"
    page = client.get(url)
    assert page.status_code == 200 and 'value="安全生产法第一章"' in page.text
    token = csrf_from(page.text)
    base = {"csrf_token": token, "title": "安全生产法第一章", "occurred_on": f"{THIS_YEAR}-01-15", "hours": "2",
            "result": "完成"}
    resp = client.post(url, data={**base, "reason": ""})
    assert resp.status_code == 200 and "is-invalid" in resp.text  # a reason is required
    resp = client.post(url, data={**base, "reason": "没有修改"})
    assert resp.status_code == 200 and "没有任何修改" in resp.text
    future = (service.today() + dt.timedelta(days=2)).isoformat()
    resp = client.post(url, data={**base, "reason": "日期", "occurred_on": future})
    assert resp.status_code == 200 and "不能晚于今天" in resp.text
    assert db.session.scalar(select(func.count(TrainingRecord.id)).where(TrainingRecord.corrects_id == r2.id)) == 0
    resp = client.post(url, data={**base, "reason": "课时按 3 学时认定", "hours": "3"})
    assert resp.status_code == 302
    fixed = db.session.scalar(select(TrainingRecord).where(TrainingRecord.corrects_id == r2.id))
    assert fixed.hours == 3 and fixed.title == "安全生产法第一章" and fixed.created_by_id == world.users["entadmin_a1"].id
    assert resp.headers["Location"].endswith(f"/archive/people/{learner.id}#rec-{fixed.id}")
    db.session.expire_all()
    assert db.session.get(TrainingRecord, r2.id).hours == 2  # the original stays as it was
    assert service.hours_in_year(learner.id, THIS_YEAR) == 9  # 6 (corrected r1) + 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "correct",
                                                       AuditEvent.entity_id == fixed.id))
    assert event.details["reason"] == "课时按 3 学时认定" and event.details["corrects"] == r2.id
    # A corrected record is corrected through its latest correction.
    resp = client.get(url)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/archive/records/{fixed.id}/correct")


@pytest.mark.parametrize("who,status", [("entadmin_b1", 404), ("manager_b", 404), ("regulator", 403),
                                        ("trainer", 403)])
def test_corrections_are_scoped(client, login, world, archive_world, db, who, status):
    login(who)
    url = f"/archive/records/{archive_world['r2'].id}/correct"
    assert client.get(url).status_code == status
    resp = post_form(client, url, {"reason": "x", "title": "改", "occurred_on": f"{THIS_YEAR}-01-15", "hours": "9"},
                     page_url=ME)
    assert resp.status_code == status
    assert db.session.scalar(select(func.count(TrainingRecord.id)).where(
        TrainingRecord.corrects_id == archive_world["r2"].id)) == 0


def test_manager_in_scope_corrects(client, login, world, archive_world, db):
    login("manager_a")
    r3 = archive_world["r3"]
    url = f"/archive/records/{r3.id}/correct"
    token = csrf_from(client.get(url).text)
    resp = client.post(url, data={"csrf_token": token, "reason": "日期登记错误", "title": "有限空间作业培训",
                                  "occurred_on": f"{THIS_YEAR}-01-02", "hours": "3", "result": ""})
    assert resp.status_code == 302
    assert service.hours_in_year(archive_world["learner"].id, THIS_YEAR - 1) == 0
    assert service.hours_in_year(archive_world["learner"].id, THIS_YEAR) == 11


# --- re-training events ---------------------------------------------------------------------------

def test_recording_a_post_change_switches_to_the_initial_requirement(client, login, world, archive_world, db):
    learner = archive_world["learner"]
    login("entadmin_a1")
    page = client.get(f"/archive/people/{learner.id}")
    assert 'id="event-form"' in page.text
    url = f"/archive/people/{learner.id}/events"
    future = (service.today() + dt.timedelta(days=1)).isoformat()
    post_form(client, url, {"kind": "post_change", "on": future}, page_url=f"/archive/people/{learner.id}")
    assert db.session.scalar(select(func.count(PersonEvent.id))) == 0
    resp = post_form(client, url, {"kind": "post_change", "on": f"{THIS_YEAR}-01-10", "note": "调至安全部"},
                     page_url=f"/archive/people/{learner.id}")
    assert resp.status_code == 302
    ev = db.session.scalar(select(PersonEvent))
    assert (ev.person_id, ev.kind, ev.on, ev.note) == (learner.id, "post_change", dt.date(THIS_YEAR, 1, 10), "调至安全部")
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.entity_type == "person_event")) is not None
    page = client.get(f"/archive/people/{learner.id}").text
    assert re.search(r'id="required-hours">32<', page) and "调整岗位" in page


@pytest.mark.parametrize("who,status", [("entadmin_b1", 404), ("manager_b", 404), ("regulator", 403)])
def test_events_are_scoped(client, login, world, archive_world, db, who, status):
    login(who)
    resp = post_form(client, f"/archive/people/{archive_world['learner'].id}/events",
                     {"kind": "return", "on": f"{THIS_YEAR}-02-01"}, page_url=ME)
    assert resp.status_code == status
    assert db.session.scalar(select(func.count(PersonEvent.id))) == 0


def test_a_learner_cannot_record_events_or_see_the_form(client, login, world, archive_world, db):
    login(world.users["learner"].mobile)
    assert 'id="event-form"' not in client.get("/archive/me").text
    resp = post_form(client, f"/archive/people/{archive_world['learner'].id}/events",
                     {"kind": "return", "on": f"{THIS_YEAR}-02-01"}, page_url=ME)
    assert resp.status_code == 403


# --- an enterprise's archive ---------------------------------------------------------------------------

def test_enterprise_archive_pages_pdf_and_xlsx(client, login, world, archive_world, db, monkeypatch):
    add_record(db, world.staff_a1, dt.date(THIS_YEAR, 2, 20), 1.5, "甲一员工消防培训")
    db.session.commit()
    login("entadmin_a1")
    page = client.get(f"/archive/enterprises/{world.ent_a1.id}").text
    assert "甲一员工消防培训" in page and "粉尘防爆专题培训" in page and "化工安全培训" not in page
    fixed = archive_world["fixed"]
    assert f'/archive/people/{archive_world["learner"].id}#rec-{fixed.id}' in page
    filtered = client.get(f"/archive/enterprises/{world.ent_a1.id}?year={THIS_YEAR - 1}").text
    assert "有限空间作业培训" in filtered and "甲一员工消防培训" not in filtered
    by_name = client.get(f"/archive/enterprises/{world.ent_a1.id}?q=甲一").text
    assert "甲一员工消防培训" in by_name and "粉尘防爆专题培训" not in by_name
    text = pdf_text(client.get(f"/archive/enterprises/{world.ent_a1.id}.pdf").data)
    assert "一企一档" in text and "甲一员工消防培训" in text and "学员甲" in text and "化工安全培训" not in text
    rows = xlsx_rows(client.get(f"/archive/enterprises/{world.ent_a1.id}.xlsx").data)
    assert len(rows) == 1 + 6 and {r[2] for r in rows[1:]} == {"学员甲", "甲一员工"}
    monkeypatch.setattr(archive, "PDF_MAX_ROWS", 3)
    resp = client.get(f"/archive/enterprises/{world.ent_a1.id}.pdf")
    assert resp.status_code == 302  # too many rows for a PDF: filter first
    assert client.get(f"/archive/enterprises/{world.ent_a1.id}.pdf?year={THIS_YEAR - 1}").status_code == 200


def test_enterprise_archive_paginates(client, login, world, db, monkeypatch):
    for day in range(1, 6):
        add_record(db, world.staff_b1, dt.date(THIS_YEAR, 1, day), 1, f"第{day}次培训")
    db.session.commit()
    monkeypatch.setattr(archive, "PER_PAGE", 2)
    login("entadmin_b1")
    first = client.get(f"/archive/enterprises/{world.ent_b1.id}").text
    third = client.get(f"/archive/enterprises/{world.ent_b1.id}?page=3").text
    assert "第1次培训" in first and "第2次培训" in first and "第3次培训" not in first
    assert "第5次培训" in third and "第4次培训" not in third and "共 5 条记录" in third


@pytest.mark.parametrize("who,status", [("entadmin_a1", 200), ("manager_a", 200), ("regulator", 200),
                                        ("entadmin_b1", 404), ("manager_b", 404), ("trainer", 404)])
def test_enterprise_pages_are_scoped(client, login, world, archive_world, who, status):
    login(who)
    ent = world.ent_a1.id
    for url in (f"/archive/enterprises/{ent}", f"/archive/enterprises/{ent}.xlsx", f"/archive/enterprises/{ent}.pdf",
                f"/archive/enterprises/{ent}/compliance", f"/archive/enterprises/{ent}/compliance.xlsx"):
        assert client.get(url).status_code == status, url


# --- yearly compliance ----------------------------------------------------------------------------------

@pytest.fixture
def compliance_world(world, archive_world, db):
    dep = Department(enterprise_id=world.ent_a1.id, name="二车间")
    db.session.add(dep)
    db.session.flush()
    met = factories.person(world.ent_a1, "达标者", audience="safety_manager", joined_on=dt.date(2019, 1, 1),
                           department_id=dep.id)
    add_record(db, met, dt.date(THIS_YEAR, 4, 1), 12, "年度再培训")
    fresh = factories.person(world.ent_a1, "新员工", audience="staff", joined_on=dt.date(THIS_YEAR, 2, 1))
    factories.person(world.ent_a1, "离职者", audience="principal", status="left")
    world.staff_a1.joined_on = dt.date(2019, 1, 1)
    db.session.commit()
    return {"met": met, "fresh": fresh, "dep": dep}


def test_enterprise_compliance_page(client, login, world, compliance_world, archive_world):
    login("entadmin_a1")
    url = f"/archive/enterprises/{world.ent_a1.id}/compliance"
    page = client.get(url).text
    table = page[page.index('id="compliance-table"'):]
    for name in ("达标者", "新员工", "学员甲", "甲一员工"):
        assert name in table
    assert "离职者" not in table
    assert "共 4 人" in page
    row = table[table.index("新员工"):table.index("</tr>", table.index("新员工"))]
    assert ">24<" in row and "compliance-not_started" in row and "当年入职" in row
    assert re.search(r'class="count-met">达标：<strong>1<', page)
    only_met = client.get(url + "?status=met").text
    assert "达标者" in only_met and "新员工" not in only_met.split('id="compliance-table"')[1]
    by_dep = client.get(url + f"?department={compliance_world['dep'].id}").text.split('id="compliance-table"')[1]
    assert "达标者" in by_dep and "学员甲" not in by_dep
    by_aud = client.get(url + "?audience=principal").text.split('id="compliance-table"')[1]
    assert "学员甲" in by_aud and "达标者" not in by_aud
    rows = xlsx_rows(client.get(url.replace("/compliance", "/compliance.xlsx") + f"?year={THIS_YEAR}").data)
    assert rows[0][:3] == ["姓名", "手机号", "部门"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"达标者", "新员工", "学员甲", "甲一员工"}
    assert by_name["达标者"][7:10] == [12, 12, "达标"] and by_name["学员甲"][7:10] == [12, 8, "差 4 学时"]
    assert by_name["甲一员工"][9] == "无年度要求"


def test_compliance_page_paginates_but_the_export_has_everyone(client, login, world, compliance_world, monkeypatch):
    monkeypatch.setattr(archive, "PER_PAGE", 3)
    login("entadmin_a1")
    url = f"/archive/enterprises/{world.ent_a1.id}/compliance"
    first = client.get(url).text.split('id="compliance-table"')[1]
    second = client.get(url + "?page=2").text.split('id="compliance-table"')[1]
    names = ("达标者", "新员工", "学员甲", "甲一员工")
    assert sum(n in first for n in names) == 3 and sum(n in second.split("</table>")[0] for n in names) == 1
    assert len(xlsx_rows(client.get(url + ".xlsx").data)) == 1 + 4


def test_summary_per_enterprise_in_scope(client, login, world, compliance_world):
    login("manager_a")
    page = client.get("/archive/compliance").text
    assert world.ent_a1.name in page and world.ent_a2.name in page and world.ent_b1.name not in page
    row = page[page.index(f'id="ent-{world.ent_a1.id}"'):]
    row = row[:row.index("</tr>")]
    # 4 people: 达标者 met, 学员甲 short, 新员工 not started, 甲一员工 no requirement.
    assert re.findall(r'<td class="text-end[^"]*">([^<]*)</td>', row) == ["4", "1", "1", "1", "1", "33%"]
    post_form(client, "/auth/logout", {}, page_url=ME)
    login("entadmin_b1")
    page = client.get("/archive/compliance").text
    assert world.ent_b1.name in page and world.ent_a1.name not in page
    post_form(client, "/auth/logout", {}, page_url=ME)
    login(world.users["learner"].mobile)
    assert client.get("/archive/compliance").status_code == 403


# --- requirement rules ---------------------------------------------------------------------------------

def test_admin_edits_the_rules_with_an_audit_trail(client, login, world, db):
    login("admin")
    page = client.get("/archive/requirements").text
    assert "有 14 条国家规定的规则尚未设置" in page
    resp = post_form(client, "/archive/requirements/seed", {}, page_url="/archive/requirements")
    assert resp.status_code == 302 and db.session.scalar(select(func.count(Requirement.id))) == 14
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "training_requirement", AuditEvent.action == "create")) == 14
    resp = post_form(client, "/archive/requirements", {"audience": "staff", "kind": "annual", "hours": "8",
                                                      "source": "区安委办年度通知"}, page_url="/archive/requirements")
    assert resp.status_code == 302
    rule = db.session.scalar(select(Requirement).where(Requirement.source == "区安委办年度通知"))
    rule_id = rule.id
    assert (rule.audience, rule.high_risk, rule.kind, rule.hours) == ("staff", False, "annual", 8)
    dup = post_form(client, "/archive/requirements", {"audience": "staff", "kind": "annual", "hours": "9",
                                                     "source": "重复"}, page_url="/archive/requirements")
    assert dup.status_code == 200 and "已有同类规则" in dup.text
    url = f"/archive/requirements/{rule.id}/edit"
    resp = post_form(client, url, {"audience": "staff", "kind": "annual", "hours": "10", "source": "区安委办年度通知"},
                     page_url=url)
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Requirement, rule.id).hours == 10
    update = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update",
                                                        AuditEvent.entity_id == rule.id))
    assert update.details["changed"]["hours"] == [8, 10]
    resp = post_form(client, f"/archive/requirements/{rule_id}/delete", {}, page_url="/archive/requirements")
    db.session.expire_all()
    assert resp.status_code == 302 and db.session.get(Requirement, rule_id) is None
    assert db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "delete",
                                                              AuditEvent.entity_id == rule_id))["hours"] == 10


def test_only_admins_change_rules(client, login, world, db):
    compliance.seed_requirements()
    db.session.commit()
    rule_id = db.session.scalar(select(Requirement.id).limit(1))
    login("manager_a")
    page = client.get("/archive/requirements")
    assert page.status_code == 200 and "安监总局令第3号" in page.text and 'id="requirement-form"' not in page.text
    for url in ("/archive/requirements", "/archive/requirements/seed", f"/archive/requirements/{rule_id}/delete"):
        assert post_form(client, url, {"audience": "staff", "kind": "annual", "hours": "1", "source": "x"},
                         page_url="/archive/requirements").status_code == 403
    assert client.get(f"/archive/requirements/{rule_id}/edit").status_code == 403
    assert db.session.scalar(select(func.count(Requirement.id))) == 14
