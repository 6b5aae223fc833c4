"""Classroom sessions: the sign-in window, one record per person, who may sign in, attendee import,
scope of lists and forms, the QR, and hours reaching the yearly total."""
from __future__ import annotations

import base64
import datetime as dt
import io
import re
import secrets
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from, post_form
from trainapp.audit import AuditEvent
from trainapp.courses import classroom
from trainapp.courses.classroom import attend, sign_in, window_state
from trainapp.courses.models import Attendance, ClassroomSession, TrainingRecord
from trainapp.courses.service import current_records, hours_in_year
from trainapp.models import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def make_session(db, ent=None, street=None, starts=None, minutes=120, hours=2.0, kind="classroom",
                 title="粉尘防爆专题培训", by=None) -> ClassroomSession:
    starts = starts or utcnow() - dt.timedelta(minutes=10)
    sess = ClassroomSession(
        enterprise_id=ent.id if ent else None, street_id=ent.street_id if ent else street.id, kind=kind,
        title=title, content="粉尘涉爆企业安全管理要点", teacher="王老师", place="三楼会议室",
        starts_at=starts, ends_at=starts + dt.timedelta(minutes=minutes), hours=hours,
        signin_token=secrets.token_urlsafe(16), created_by_id=by.id if by else None)
    db.session.add(sess)
    db.session.commit()
    return sess


def records(db, sess=None, person=None):
    stmt = select(TrainingRecord)
    if sess is not None:
        stmt = stmt.where(TrainingRecord.session_id == sess.id)
    if person is not None:
        stmt = stmt.where(TrainingRecord.person_id == person.id)
    return db.session.scalars(stmt.order_by(TrainingRecord.id)).all()


def attendance_count(db, sess) -> int:
    return db.session.scalar(select(func.count(Attendance.id)).where(Attendance.session_id == sess.id))


def logout(client):
    assert post_form(client, "/auth/logout", {}).status_code == 302


def learner_person(world):
    return world.users["learner"].person


# --- the window -----------------------------------------------------------------------

@pytest.mark.parametrize("offset,expected", [
    (dt.timedelta(minutes=-31), "early"),
    (dt.timedelta(minutes=-30), "open"),  # the window opens 30 minutes before the start
    (dt.timedelta(minutes=45), "open"),
    (dt.timedelta(minutes=120), "open"),  # ...and closes at the end
    (dt.timedelta(minutes=120, seconds=1), "closed"),
])
def test_window_state(app, offset, expected):
    sess = ClassroomSession(starts_at=START, ends_at=START + dt.timedelta(minutes=120))
    assert window_state(sess, START + offset) == expected


def test_window_with_naive_stored_times(app):
    """SQLite returns stored UTC times without a zone; they are still read as UTC."""
    sess = ClassroomSession(starts_at=START.replace(tzinfo=None),
                            ends_at=(START + dt.timedelta(hours=1)).replace(tzinfo=None))
    assert window_state(sess, START - dt.timedelta(minutes=29)) == "open"
    assert window_state(sess, START + dt.timedelta(hours=1, minutes=1)) == "closed"


def test_sign_in_before_inside_and_after_the_window(world, db):
    sess = make_session(db, world.ent_a1, starts=START, minutes=120)
    person, user = learner_person(world), world.users["learner"]
    assert sign_in(sess, person, user, START - dt.timedelta(minutes=40)) == "early"
    assert sign_in(sess, person, user, START + dt.timedelta(minutes=121)) == "closed"
    assert records(db, sess) == [] and attendance_count(db, sess) == 0
    assert sign_in(sess, person, user, START - dt.timedelta(minutes=20)) == "signed"
    db.session.commit()
    assert attendance_count(db, sess) == 1


# --- one record per person -------------------------------------------------------------

def test_signing_in_twice_keeps_one_attendance_and_one_record(world, db):
    sess = make_session(db, world.ent_a1, starts=START, hours=3.5)
    person, user = learner_person(world), world.users["learner"]
    assert sign_in(sess, person, user, START) == "signed"
    assert sign_in(sess, person, user, START + dt.timedelta(minutes=5)) == "already"
    db.session.commit()
    assert attendance_count(db, sess) == 1
    [rec] = records(db, sess)
    assert (rec.kind, rec.title, rec.content, rec.hours, rec.teacher, rec.result) == (
        "classroom", "粉尘防爆专题培训", "粉尘涉爆企业安全管理要点", 3.5, "王老师", "出席")
    assert (rec.person_id, rec.enterprise_id, rec.session_id, rec.created_by_id) == (
        person.id, world.ent_a1.id, sess.id, user.id)
    assert rec.occurred_on == dt.date(2026, 3, 2)
    att = db.session.scalar(select(Attendance))
    assert att.method == "qr"


def test_record_date_is_the_shanghai_date_of_the_start(world, db):
    late_evening_utc = dt.datetime(2026, 6, 30, 17, 0, tzinfo=UTC)  # 01:00 on 1 July in Shanghai
    sess = make_session(db, world.ent_a1, starts=late_evening_utc)
    attend(sess, world.staff_a1, "manual", by=world.users["entadmin_a1"])
    db.session.commit()
    assert records(db, sess)[0].occurred_on == dt.date(2026, 7, 1)


def test_a_race_is_settled_by_the_unique_constraint(world, db, monkeypatch):
    """Two requests both see "not yet attended"; the second insert fails and records nothing more."""
    sess = make_session(db, world.ent_a1, starts=START)
    person = learner_person(world)
    assert attend(sess, person, "qr") is not None
    db.session.commit()
    monkeypatch.setattr(classroom, "_attended", lambda session_id, person_id: None)
    assert attend(sess, person, "import") is None
    db.session.commit()
    assert attendance_count(db, sess) == 1 and len(records(db, sess)) == 1


def test_hours_count_in_the_yearly_total(world, db):
    person = learner_person(world)
    before = hours_in_year(person.id, 2026)
    for hours, starts in ((2.5, START), (1.5, START + dt.timedelta(days=3))):
        sess = make_session(db, world.ent_a1, starts=starts, hours=hours)
        assert sign_in(sess, person, world.users["learner"], starts) == "signed"
    db.session.commit()
    assert hours_in_year(person.id, 2026) == before + 4.0
    assert hours_in_year(person.id, 2025) == 0.0


# --- who may sign in ----------------------------------------------------------------------

def test_enterprise_session_refuses_staff_of_other_enterprises(world, db):
    sess = make_session(db, world.ent_a1, starts=START)
    assert sign_in(sess, world.staff_a2, None, START) == "wrong_unit"
    assert sign_in(sess, world.regulator_person, None, START) == "wrong_unit"
    assert attendance_count(db, sess) == 0 and records(db) == []


def test_street_session_accepts_anyone_and_shadowing_accepts_agency_staff(world, db):
    street_sess = make_session(db, street=world.street_a, starts=START)
    assert sign_in(street_sess, world.staff_b1, None, START) == "signed"
    shadowing = make_session(db, world.ent_a1, starts=START, kind="shadowing")
    assert sign_in(shadowing, world.regulator_person, None, START) == "signed"
    assert sign_in(shadowing, world.staff_b1, None, START) == "wrong_unit"
    db.session.commit()
    rec = records(db, shadowing)[0]
    assert rec.person_id == world.regulator_person.id and rec.enterprise_id is None


def test_staff_who_left_cannot_sign_in(world, db):
    sess = make_session(db, world.ent_a1, starts=START)
    world.staff_a1.status = "left"
    db.session.commit()
    assert sign_in(sess, world.staff_a1, None, START) == "inactive"
    assert attendance_count(db, sess) == 0


# --- QR sign-in over HTTP ------------------------------------------------------------------

def test_signin_page_needs_a_signed_in_user(world, db, client):
    sess = make_session(db, world.ent_a1)
    resp = client.get(f"/classroom/signin/{sess.signin_token}")
    assert resp.status_code == 302
    assert "/auth/login" in resp.location and "next=" in resp.location
    assert sess.signin_token in resp.location


def test_learner_signs_in_by_qr(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    login(world.users["learner"].mobile)
    url = f"/classroom/signin/{sess.signin_token}"
    page = client.get(url)
    assert page.status_code == 200 and 'id="signin-form"' in page.text and "粉尘防爆专题培训" in page.text
    resp = client.post(url, data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    again = client.get(url)
    assert 'data-status="already"' in again.text and "signin-form" not in again.text
    resp = client.post(url, data={"csrf_token": csrf_from(page.text)})  # a second tap
    assert resp.status_code == 302
    assert attendance_count(db, sess) == 1 and len(records(db, sess)) == 1
    assert records(db, sess)[0].created_by_id == world.users["learner"].id


def test_signin_post_needs_csrf(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    login(world.users["learner"].mobile)
    assert client.post(f"/classroom/signin/{sess.signin_token}", data={}).status_code == 400
    assert attendance_count(db, sess) == 0


def test_signin_outside_the_window_records_nothing(world, db, client, login):
    early = make_session(db, world.ent_a1, starts=utcnow() + dt.timedelta(hours=2))
    late = make_session(db, world.ent_a1, starts=utcnow() - dt.timedelta(hours=3), minutes=60)
    login(world.users["learner"].mobile)
    for sess, status, words in ((early, "early", "签到尚未开始"), (late, "closed", "签到已结束")):
        url = f"/classroom/signin/{sess.signin_token}"
        page = client.get(url)
        assert f'data-status="{status}"' in page.text and words in page.text
        assert "signin-form" not in page.text
        resp = client.post(url, data={"csrf_token": csrf_from(page.text)})
        assert resp.status_code == 409 and words in resp.text
    assert db.session.scalar(select(func.count(Attendance.id))) == 0


def test_signin_refuses_other_enterprises_and_users_without_a_person(world, db, client, login):
    sess = make_session(db, world.ent_a2)
    url = f"/classroom/signin/{sess.signin_token}"
    login(world.users["learner"].mobile)  # works for ent_a1
    page = client.get(url)
    assert page.status_code == 403 and "仅限甲街道化工企业的人员签到" in page.text
    resp = client.post(url, data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 403
    logout(client)
    login("admin")
    page = client.get(url)
    assert page.status_code == 403 and "没有关联人员信息" in page.text
    assert attendance_count(db, sess) == 0


def test_unknown_signin_token_is_404(world, db, client, login):
    login(world.users["learner"].mobile)
    assert client.get("/classroom/signin/not-a-token").status_code == 404


def test_signin_post_is_rate_limited(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    login(world.users["learner"].mobile)
    url = f"/classroom/signin/{sess.signin_token}"
    token = csrf_from(client.get(url).text)
    codes = [client.post(url, data={"csrf_token": token}).status_code for _ in range(21)]
    assert codes[:20] == [302] * 20 and codes[20] == 429


# --- the QR ------------------------------------------------------------------------------

def _rasterise_qr_svg(svg: str):
    """Draw the SVG for real (WeasyPrint into a PDF, PDFium to pixels), as a phone camera would see it."""
    from weasyprint import HTML

    from tests.certificates.helpers import rasterise

    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    page = HTML(string=f'<body style="margin:20mm"><img src="{uri}" style="width:60mm"></body>').write_pdf()
    return rasterise(page, scale=3)


def test_detail_page_shows_a_qr_that_decodes_to_the_signin_url(world, db, client, login):
    import zxingcpp

    sess = make_session(db, world.ent_a1)
    login("entadmin_a1")
    page = client.get(f"/classroom/{sess.id}")
    assert page.status_code == 200
    src = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"[^>]*id="signin-qr"', page.text).group(1)
    svg = base64.b64decode(src).decode()
    found = zxingcpp.read_barcodes(_rasterise_qr_svg(svg))
    assert [f.text for f in found] == [f"http://testserver/classroom/signin/{sess.signin_token}"]
    assert classroom.signin_url(sess) == found[0].text
    projection = client.get(f"/classroom/{sess.id}/qr")
    assert projection.status_code == 200 and src in projection.text


def test_viewers_who_do_not_manage_see_no_qr(world, db, client, login):
    sess = make_session(db, world.ent_a1)  # regulators read classroom sessions in their sectors
    login("regulator")
    page = client.get(f"/classroom/{sess.id}")
    assert page.status_code == 200 and "粉尘防爆专题培训" in page.text
    assert "signin-qr" not in page.text and sess.signin_token not in page.text
    assert client.get(f"/classroom/{sess.id}/qr").status_code == 403
    assert client.get(f"/classroom/{sess.id}/edit").status_code == 403


# --- creating and editing sessions ------------------------------------------------------------

def _session_data(unit, **overrides):
    data = {"title": "有限空间作业安全培训", "kind": "classroom", "unit": unit, "content": "有限空间辨识与通风检测",
            "teacher": "李工", "place": "街道社区中心", "starts_at": "2026-03-02T09:00",
            "ends_at": "2026-03-02T11:30", "hours": "2.5"}
    data.update(overrides)
    return data


def test_manager_creates_a_street_session_in_shanghai_time(world, db, client, login):
    login("manager_a")
    resp = post_form(client, "/classroom/new", _session_data(f"s:{world.street_a.id}"), page_url="/classroom/new")
    assert resp.status_code == 302
    sess = db.session.scalar(select(ClassroomSession))
    assert sess.enterprise_id is None and sess.street_id == world.street_a.id
    assert classroom.aware(sess.starts_at) == dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert classroom.aware(sess.ends_at) == dt.datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
    assert sess.hours == 2.5 and sess.kind == "classroom" and sess.created_by_id == world.users["manager_a"].id
    assert len(sess.signin_token) >= 20
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity_type == "classroom_session")) \
        == "create"
    edit = client.get(f"/classroom/{sess.id}/edit")
    assert 'value="2026-03-02T09:00"' in edit.text  # shown back in Shanghai time


@pytest.mark.parametrize("overrides,message", [
    ({"ends_at": "2026-03-02T09:00"}, "结束时间应晚于开始时间"),
    ({"ends_at": "2026-03-02T08:00"}, "结束时间应晚于开始时间"),
    ({"hours": "0"}, "学时应大于 0 且不超过 8"),
    ({"hours": "8.5"}, "学时应大于 0 且不超过 8"),
    ({"title": ""}, "is-invalid"),
])
def test_session_form_errors(world, db, client, login, overrides, message):
    login("entadmin_a1")
    resp = post_form(client, "/classroom/new", _session_data(f"e:{world.ent_a1.id}", **overrides),
                     page_url="/classroom/new")
    assert resp.status_code == 200 and message in resp.text
    assert db.session.scalar(select(func.count(ClassroomSession.id))) == 0


def test_eight_hours_is_allowed(world, db, client, login):
    login("entadmin_a1")
    resp = post_form(client, "/classroom/new", _session_data(f"e:{world.ent_a1.id}", hours="8",
                                                             ends_at="2026-03-02T17:30"), page_url="/classroom/new")
    assert resp.status_code == 302
    assert db.session.scalar(select(ClassroomSession.hours)) == 8.0


def test_creating_for_units_out_of_scope(world, db, client, login):
    login("manager_a")
    assert client.get(f"/classroom/new?enterprise={world.ent_b1.id}").status_code == 404
    assert client.get(f"/classroom/new?enterprise={world.ent_a2.id}").status_code == 200
    for unit in (f"e:{world.ent_b1.id}", f"s:{world.street_b.id}", "e:999999", "x:1"):
        resp = post_form(client, "/classroom/new", _session_data(unit), page_url="/classroom/new")
        assert resp.status_code == 403, unit
    logout(client)
    login("entadmin_a1")
    form = client.get("/classroom/new").text
    assert f'value="e:{world.ent_a1.id}"' in form and f'value="e:{world.ent_a2.id}"' not in form
    for unit in (f"e:{world.ent_a2.id}", f"s:{world.street_a.id}"):
        resp = post_form(client, "/classroom/new", _session_data(unit), page_url="/classroom/new")
        assert resp.status_code == 403, unit
    assert db.session.scalar(select(func.count(ClassroomSession.id))) == 0


def test_learners_cannot_create_or_list_sessions(world, db, client, login):
    login(world.users["learner"].mobile)
    assert client.get("/classroom/").status_code == 403
    assert client.get("/classroom/new").status_code == 403


def test_regulators_record_shadowing_only(world, db, client, login):
    login("regulator")
    form = client.get("/classroom/new").text
    assert 'value="shadowing"' in form and 'value="classroom"' not in form
    unit = f"e:{world.ent_a1.id}"  # 粉尘涉爆 is under 工贸, which the agency supervises
    resp = post_form(client, "/classroom/new", _session_data(unit), page_url="/classroom/new")
    assert resp.status_code == 200 and db.session.scalar(select(func.count(ClassroomSession.id))) == 0
    resp = post_form(client, "/classroom/new", _session_data(f"e:{world.ent_a2.id}", kind="shadowing"),
                     page_url="/classroom/new")
    assert resp.status_code == 403  # 危化 is not the agency's
    resp = post_form(client, "/classroom/new", _session_data(unit, kind="shadowing"), page_url="/classroom/new")
    assert resp.status_code == 302
    sess = db.session.scalar(select(ClassroomSession))
    assert sess.kind == "shadowing" and sess.enterprise_id == world.ent_a1.id


def test_trainer_may_run_sessions_anywhere(world, db, client, login):
    login("trainer")
    resp = post_form(client, "/classroom/new", _session_data(f"e:{world.ent_b1.id}"), page_url="/classroom/new")
    assert resp.status_code == 302
    sess = db.session.scalar(select(ClassroomSession))
    assert sess.enterprise_id == world.ent_b1.id and sess.street_id == world.street_b.id
    assert client.get(f"/classroom/{sess.id}").status_code == 200


def test_session_list_is_scoped(world, db, client, login):
    for title, kw in (("甲一企业培训", {"ent": world.ent_a1}), ("甲二企业培训", {"ent": world.ent_a2}),
                      ("乙一企业培训", {"ent": world.ent_b1}), ("甲街道集中培训", {"street": world.street_a}),
                      ("乙镇集中培训", {"street": world.street_b})):
        make_session(db, title=title, **kw)
    sessions = {s.title: s for s in db.session.scalars(select(ClassroomSession))}
    attend(sessions["甲一企业培训"], world.staff_a1, "manual")
    attend(sessions["甲一企业培训"], learner_person(world), "manual")
    db.session.commit()
    expected = {
        "manager_a": {"甲一企业培训", "甲二企业培训", "甲街道集中培训"},
        "entadmin_a1": {"甲一企业培训", "甲街道集中培训"},
        "manager_b": {"乙一企业培训", "乙镇集中培训"},
        "admin": set(sessions),
    }
    for user_login, titles in expected.items():
        login(user_login)
        page = client.get("/classroom/")
        assert page.status_code == 200
        shown = {t for t in sessions if f">{t}</a>" in page.text}
        assert shown == titles, user_login
        for title, sess in sessions.items():
            assert client.get(f"/classroom/{sess.id}").status_code == (200 if title in titles else 404)
        logout(client)
    login("manager_a")
    row = re.search(rf'data-session="{sessions["甲一企业培训"].id}">.*?</tr>', client.get("/classroom/").text, re.S)
    assert '<td class="attendee-count">2</td>' in row.group(0)


def test_enterprise_admin_sees_but_cannot_manage_street_sessions(world, db, client, login):
    sess = make_session(db, street=world.street_a)
    login("entadmin_a1")
    assert client.get(f"/classroom/{sess.id}").status_code == 200
    assert client.get(f"/classroom/{sess.id}/edit").status_code == 403
    assert client.get(f"/classroom/{sess.id}/import").status_code == 403


def test_editing_a_session_corrects_the_archive(world, db, client, login):
    starts = utcnow() - dt.timedelta(minutes=10)
    sess = make_session(db, world.ent_a1, starts=starts, hours=2.0)
    person = learner_person(world)
    attend(sess, person, "qr")
    attend(sess, world.staff_a1, "manual")
    db.session.commit()
    original = records(db, sess, world.staff_a1)[0]
    # Someone already corrected staff_a1's hours (left early): that correction is kept.
    from trainapp.courses.service import correct
    correct(original, world.users["admin"], "提前离场", hours=1.0)
    db.session.commit()
    year = classroom.local_date(sess.starts_at).year
    login("entadmin_a1")
    local = classroom.aware(sess.starts_at).astimezone(SHANGHAI)
    data = _session_data(f"e:{world.ent_a1.id}", title="粉尘防爆专题培训（补充）", hours="3",
                         starts_at=local.strftime("%Y-%m-%dT%H:%M"),
                         ends_at=(local + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    resp = post_form(client, f"/classroom/{sess.id}/edit", data, page_url=f"/classroom/{sess.id}/edit")
    assert resp.status_code == 302
    current = {r.person_id: r for r in db.session.scalars(
        current_records().where(TrainingRecord.session_id == sess.id))}
    assert (current[person.id].title, current[person.id].hours) == ("粉尘防爆专题培训（补充）", 3.0)
    assert (current[world.staff_a1.id].title, current[world.staff_a1.id].hours) == ("粉尘防爆专题培训（补充）", 1.0)
    assert hours_in_year(person.id, year) == 3.0 and hours_in_year(world.staff_a1.id, year) == 1.0
    assert len(records(db, sess)) == 5  # 2 originals, the early-leave correction, 2 edit corrections


def test_unit_cannot_change_after_attendance(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    attend(sess, world.staff_a1, "manual")
    db.session.commit()
    login("manager_a")
    resp = post_form(client, f"/classroom/{sess.id}/edit", _session_data(f"e:{world.ent_a2.id}"),
                     page_url=f"/classroom/{sess.id}/edit")
    assert resp.status_code == 200 and "不能更改所属单位" in resp.text
    db.session.expire_all()
    assert db.session.get(ClassroomSession, sess.id).enterprise_id == world.ent_a1.id


# --- import ----------------------------------------------------------------------------------

def xlsx(rows, headers=("姓名", "手机号")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client, sess, data: bytes, name="attendees.xlsx"):
    return post_form(client, f"/classroom/{sess.id}/import", {"file": (io.BytesIO(data), name)},
                     page_url=f"/classroom/{sess.id}/import", content_type="multipart/form-data")


def confirm(client, sess, preview_html):
    token = re.search(r"/import/([A-Za-z0-9_-]+)\"", preview_html).group(1)
    return post_form(client, f"/classroom/{sess.id}/import/{token}", {}, page_url=f"/classroom/{sess.id}/import")


def test_template_has_the_two_headers(world, db, client, login):
    login("entadmin_a1")
    ws = load_workbook(io.BytesIO(client.get("/classroom/attendee-template.xlsx").data)).active
    assert [c.value for c in ws[1]] == ["姓名", "手机号"]


def test_import_with_every_kind_of_row_error_writes_nothing(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    extra = factories.person(world.ent_a1, "甲一新员工")
    attend(sess, world.staff_a1, "qr")
    db.session.commit()
    learner = learner_person(world)
    rows = [
        (learner.name, learner.mobile),          # 2: fine
        ("无此人", "13900000001"),                 # 3: unknown mobile
        ("乙一员工", world.staff_b1.mobile),        # 4: another enterprise's staff: unknown here
        ("张冠李戴", extra.mobile),                 # 5: name mismatch
        (learner.name, learner.mobile),          # 6: duplicate of row 2
        (world.staff_a1.name, world.staff_a1.mobile),  # 7: already attended
        ("某人", "12345"),                         # 8: not a mobile
        ("", "13900000002"),                      # 9: no name
    ]
    login("entadmin_a1")
    resp = upload(client, sess, xlsx(rows))
    assert resp.status_code == 200 and 'id="import-errors"' in resp.text and "confirm-form" not in resp.text
    errors = dict(re.findall(r"<li>第 (\d+) 行：([^<]+)</li>", resp.text))
    assert set(errors) == {"3", "4", "5", "6", "7", "8", "9"}
    assert "不是本次培训可登记的人员" in errors["3"] and "不是本次培训可登记的人员" in errors["4"]
    assert "不一致" in errors["5"]
    assert "第 2 行重复" in errors["6"]
    assert "已登记出席" in errors["7"]
    assert "手机号应为11位" in errors["8"]
    assert "姓名不能为空" in errors["9"]
    assert attendance_count(db, sess) == 1 and len(records(db, sess)) == 1


def test_import_previews_then_records_everyone(world, db, client, login):
    sess = make_session(db, world.ent_a1, hours=1.5)
    extra = factories.person(world.ent_a1, "甲一新员工")
    db.session.commit()
    learner = learner_person(world)
    login("entadmin_a1")
    data = xlsx([(learner.name, learner.mobile), (" 甲一新员工 ", f"{extra.mobile[:3]} {extra.mobile[3:]}"),
                 (world.staff_a1.name, world.staff_a1.mobile)])
    preview = upload(client, sess, data)
    assert 'id="import-ok"' in preview.text and "共 3 人" in preview.text
    assert attendance_count(db, sess) == 0  # nothing before the confirmation
    resp = confirm(client, sess, preview.text)
    assert resp.status_code == 302
    people = {learner.id, extra.id, world.staff_a1.id}
    assert set(db.session.scalars(select(Attendance.person_id).where(Attendance.session_id == sess.id))) == people
    assert set(db.session.scalars(select(Attendance.method))) == {"import"}
    recs = records(db, sess)
    assert {r.person_id for r in recs} == people and len(recs) == 3
    assert all(r.hours == 1.5 and r.created_by_id == world.users["entadmin_a1"].id for r in recs)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import_attendance")) is not None
    # Confirming the same preview again finds everyone already recorded and writes nothing.
    again = confirm(client, sess, preview.text)
    assert again.status_code == 302 and len(records(db, sess)) == 3


def test_confirm_rechecks_people_who_signed_in_meanwhile(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    learner = learner_person(world)
    login("entadmin_a1")
    preview = upload(client, sess, xlsx([(learner.name, learner.mobile),
                                         (world.staff_a1.name, world.staff_a1.mobile)]))
    assert 'id="import-ok"' in preview.text
    attend(sess, learner, "qr")
    db.session.commit()
    resp = confirm(client, sess, preview.text)
    assert resp.status_code == 200 and "已登记出席" in resp.text
    assert attendance_count(db, sess) == 1 and len(records(db, sess)) == 1


def test_street_session_import_matches_people_in_the_managers_scope(world, db, client, login):
    sess = make_session(db, street=world.street_a)
    login("manager_a")
    resp = upload(client, sess, xlsx([(world.staff_a2.name, world.staff_a2.mobile),
                                      (world.staff_b1.name, world.staff_b1.mobile)]))
    errors = dict(re.findall(r"<li>第 (\d+) 行：([^<]+)</li>", resp.text))
    assert set(errors) == {"3"}  # 乙镇 staff are not manager_a's
    resp = upload(client, sess, xlsx([(world.staff_a2.name, world.staff_a2.mobile),
                                      (world.staff_a1.name, world.staff_a1.mobile)]))
    assert confirm(client, sess, resp.text).status_code == 302
    assert {r.enterprise_id for r in records(db, sess)} == {world.ent_a1.id, world.ent_a2.id}


def test_import_refused_before_the_session(world, db, client, login):
    sess = make_session(db, world.ent_a1, starts=utcnow() + dt.timedelta(days=2))
    login("entadmin_a1")
    resp = client.get(f"/classroom/{sess.id}/import")
    assert resp.status_code == 302
    assert "尚未开始" in client.get(resp.location).text


def test_import_of_a_file_that_is_not_a_table(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    login("entadmin_a1")
    resp = upload(client, sess, b"\x00\x01binary", name="a.xlsx")
    assert 'id="import-errors"' in resp.text and attendance_count(db, sess) == 0
    resp = upload(client, sess, xlsx([("张三", "13800000000")], headers=("名字x", "电话x")))
    assert "缺少必需的列" in resp.text


# --- adding by hand ----------------------------------------------------------------------------

def test_manual_add_by_picking_from_the_enterprise_staff(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    login("entadmin_a1")
    page = client.get(f"/classroom/{sess.id}").text
    assert f'value="{world.staff_a1.id}"' in page and f'value="{world.staff_b1.id}"' not in page
    resp = post_form(client, f"/classroom/{sess.id}/attendees", {"person_id": str(world.staff_a1.id)},
                     page_url=f"/classroom/{sess.id}")
    assert resp.status_code == 302
    resp = post_form(client, f"/classroom/{sess.id}/attendees", {"person_id": str(world.staff_b1.id)},
                     page_url=f"/classroom/{sess.id}")
    assert resp.status_code == 302
    assert [a.person_id for a in db.session.scalars(select(Attendance))] == [world.staff_a1.id]
    assert db.session.scalar(select(Attendance.method)) == "manual"
    [rec] = records(db, sess)
    assert rec.person_id == world.staff_a1.id and rec.created_by_id == world.users["entadmin_a1"].id
    page = client.get(f"/classroom/{sess.id}").text
    assert f'data-person="{world.staff_a1.id}"' in page
    assert f'<option value="{world.staff_a1.id}"' not in page  # no longer offered


def test_manual_add_by_mobile(world, db, client, login):
    sess = make_session(db, street=world.street_a)
    login("manager_a")
    resp = post_form(client, f"/classroom/{sess.id}/attendees/by-mobile",
                     {"name": world.staff_b1.name, "mobile": world.staff_b1.mobile}, page_url=f"/classroom/{sess.id}")
    assert "不是本次培训可登记的人员" in client.get(resp.location).text
    post_form(client, f"/classroom/{sess.id}/attendees/by-mobile",
              {"name": world.staff_a2.name, "mobile": world.staff_a2.mobile}, page_url=f"/classroom/{sess.id}")
    assert [r.person_id for r in records(db, sess)] == [world.staff_a2.id]


def test_confirm_writes_nothing_when_a_row_loses_a_race(world, db, client, login, monkeypatch):
    """Someone signs in between the re-check and the write: the whole list is rolled back."""
    sess = make_session(db, world.ent_a1)
    learner = learner_person(world)
    login("entadmin_a1")
    preview = upload(client, sess, xlsx([(world.staff_a1.name, world.staff_a1.mobile),
                                         (learner.name, learner.mobile)]))
    real_attend = classroom.attend

    def racing(sess_, person, method, by=None, now=None):
        return None if person.id == learner.id else real_attend(sess_, person, method, by=by, now=now)

    monkeypatch.setattr(classroom, "attend", racing)
    resp = confirm(client, sess, preview.text)
    assert resp.status_code == 302 and resp.location.endswith(f"/classroom/{sess.id}/import")
    assert attendance_count(db, sess) == 0 and records(db, sess) == []


def test_viewers_see_only_attendees_in_their_scope(world, db, client, login):
    sess = make_session(db, street=world.street_a)
    attend(sess, world.staff_a1, "qr")
    attend(sess, world.staff_a2, "qr")
    db.session.commit()
    login("entadmin_a1")
    page = client.get(f"/classroom/{sess.id}").text
    assert f'data-person="{world.staff_a1.id}"' in page and f'data-person="{world.staff_a2.id}"' not in page
    assert "出席人员（2 人）" in page
    logout(client)
    login("manager_a")
    page = client.get(f"/classroom/{sess.id}").text
    assert f'data-person="{world.staff_a1.id}"' in page and f'data-person="{world.staff_a2.id}"' in page


def test_import_from_csv(world, db, client, login):
    sess = make_session(db, world.ent_a1)
    login("entadmin_a1")
    data = f"姓名,手机号\n{world.staff_a1.name},{world.staff_a1.mobile}\n".encode("utf-8-sig")
    preview = upload(client, sess, data, name="名单.csv")
    assert 'id="import-ok"' in preview.text
    assert confirm(client, sess, preview.text).status_code == 302
    assert [r.person_id for r in records(db, sess)] == [world.staff_a1.id]
