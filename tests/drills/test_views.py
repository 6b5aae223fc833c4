"""The drill form and its bad input, files, scope of lists and records, home page, archives, QR sign-in."""
from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import func, select

from tests.conftest import csrf_from, post_form
from tests.drills.helpers import form_data, make_drill, pdf_bytes, png_bytes, registered_long_ago
from trainapp.drills import operations, service
from trainapp.drills.models import Drill, DrillAttachment, DrillParticipant
from trainapp.files import StoredFile


def drill_count(db, ent=None) -> int:
    stmt = select(func.count(Drill.id))
    if ent is not None:
        stmt = stmt.where(Drill.enterprise_id == ent.id)
    return db.session.scalar(stmt)


def submit(client, data, files=None, url="/drills/new"):
    page = client.get(url)
    assert page.status_code == 200
    payload = {**data, "csrf_token": csrf_from(page.text)}
    for name, items in (files or {}).items():
        payload[name] = [(io.BytesIO(content), filename) for filename, content in items]
    return client.post(url, data=payload, content_type="multipart/form-data")


def today():
    return service.today()


# --- the form ------------------------------------------------------------------------------

def test_enterprise_admin_records_a_drill_with_a_photo_and_a_pdf(world, db, client, login):
    registered_long_ago(world.ent_a1)
    login("entadmin_a1")
    assert service.enterprise_statuses([world.ent_a1.id])[world.ent_a1.id].code == "overdue"
    resp = submit(client, form_data(world.ent_a1, today(), revision_needed="y", revision_state="open",
                                    revision_notes=""),
                  {"photos": [("scene.png", png_bytes())], "documents": [("plan.pdf", pdf_bytes())]})
    assert resp.status_code == 302, resp.text
    drill = db.session.scalar(select(Drill))
    assert (drill.enterprise_id, drill.participants, drill.headcount_on_duty, drill.evacuation_seconds) == (
        world.ent_a1.id, 18, 20, 205)
    assert (drill.revision_state, drill.signed_by, drill.source) == ("open", "王总", "form")
    kinds = sorted(a.kind for a in db.session.scalars(select(DrillAttachment)))
    assert kinds == ["document", "photo"]
    assert service.enterprise_statuses([world.ent_a1.id])[world.ent_a1.id].code == "up_to_date"
    page = client.get(resp.headers["Location"])
    assert "二楼仓库起火" in page.text and "3 分 25 秒" in page.text
    photo = db.session.scalar(select(DrillAttachment).where(DrillAttachment.kind == "photo"))
    img = client.get(f"/drills/{drill.id}/files/{photo.id}")
    assert img.status_code == 200 and img.mimetype == "image/png"
    # the home page shows the enterprise's next deadline
    home = client.get("/home").text
    assert 'data-status="up_to_date"' in home and f"drill-home-{world.ent_a1.id}" in home


def test_the_same_drill_twice_is_refused(world, db, client, login):
    login("entadmin_a1")
    data = form_data(world.ent_a1, today())
    assert submit(client, data).status_code == 302
    again = submit(client, data)
    assert again.status_code == 200
    assert "已登记过一次全员疏散逃生演练" in again.text
    assert drill_count(db) == 1
    # another kind on the same day is a different drill
    assert submit(client, {**data, "kind": "fire"}).status_code == 302
    assert drill_count(db) == 2


def test_bad_input_is_shown_by_field_and_nothing_is_saved(world, db, client, login):
    login("entadmin_a1")
    tomorrow = today() + dt.timedelta(days=1)
    cases = [
        ({"held_on": tomorrow.isoformat()}, "演练日期不能晚于今天"),
        ({"participants": "25", "headcount_on_duty": "20"}, "参演人数（25）不能超过在岗人数（20）"),
        ({"scenario": ""}, "演练场景"),
        ({"signed_by": ""}, "主要负责人签字"),
        ({"evacuation_time": ""}, "疏散类演练请填写疏散用时"),
        ({"evacuation_time": "很快"}, "无法识别的用时"),
        ({"signed_on": (today() - dt.timedelta(days=3)).isoformat(),
          "held_on": (today() - dt.timedelta(days=1)).isoformat()}, "签字日期不能早于演练日期"),
        ({"revision_needed": "y", "revision_state": "closed"}, "预案修订已完成时请填写完成日期"),
        ({"kind": "drinking"}, "不是有效的选择"),
    ]
    for change, message in cases:
        resp = submit(client, {**form_data(world.ent_a1, today()), **change})
        assert resp.status_code == 200, change
        assert message in resp.text, change
        assert 'id="form-errors"' in resp.text
    assert drill_count(db) == 0


def test_participants_above_the_enterprise_headcount(world, db, client, login):
    world.ent_a1.headcount = 15
    db.session.commit()
    login("entadmin_a1")
    resp = submit(client, form_data(world.ent_a1, today()))  # 20 on duty
    assert "超过单位登记的从业人员数 15" in resp.text.replace("（15）", " 15")
    assert drill_count(db) == 0


def test_mislabelled_and_oversized_attachments_are_refused(world, db, client, login, monkeypatch):
    login("entadmin_a1")
    fake_png = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    resp = submit(client, form_data(world.ent_a1, today()), {"photos": [("photo.png", fake_png)]})
    assert resp.status_code == 200 and "不是可识别的图片" in resp.text
    resp = submit(client, form_data(world.ent_a1, today()), {"documents": [("plan.pdf", png_bytes())]})
    assert resp.status_code == 200 and "文件内容不是 PDF" in resp.text
    # A small limit keeps the upload in memory; the real limits are 2 MB (photos) and 10 MB (PDFs).
    monkeypatch.setattr(operations, "PHOTO_MAX_BYTES", 200)
    monkeypatch.setattr(operations, "DOCUMENT_MAX_BYTES", 40)
    resp = submit(client, form_data(world.ent_a1, today()), {"photos": [("big.png", png_bytes(size=(400, 400)))]})
    assert resp.status_code == 200 and "图片超过" in resp.text
    resp = submit(client, form_data(world.ent_a1, today()), {"documents": [("big.pdf", pdf_bytes() + b"%" * 50)]})
    assert resp.status_code == 200 and "文件超过" in resp.text
    assert drill_count(db) == 0 and db.session.scalar(select(func.count(StoredFile.id))) == 0


def test_a_manager_records_for_an_enterprise_in_scope_only(world, db, client, login):
    login("manager_a")
    page = client.get("/drills/new")
    assert world.ent_a1.name in page.text and world.ent_b1.name not in page.text
    resp = submit(client, form_data(world.ent_b1, today()))
    assert resp.status_code == 200 and "不是有效的选择" in resp.text
    assert client.get(f"/drills/new?enterprise={world.ent_b1.id}").status_code == 404
    assert submit(client, form_data(world.ent_a2, today())).status_code == 302
    assert drill_count(db, world.ent_a2) == 1


def test_edit_closes_the_plan_revision(world, db, client, login):
    drill = make_drill(world.ent_a1, today() - dt.timedelta(days=10), revision_state="open")
    db.session.commit()
    login("entadmin_a1")
    url = f"/drills/{drill.id}/edit"
    data = form_data(world.ent_a1, drill.held_on, revision_needed="y", revision_state="closed",
                     revision_closed_on=today().isoformat(), revision_notes="增加了夜间疏散程序")
    resp = submit(client, data, url=url)
    assert resp.status_code == 302, resp.text
    db.session.expire_all()
    drill = db.session.get(Drill, drill.id)
    assert (drill.revision_state, drill.revision_closed_on, drill.revision_notes) == (
        "closed", today(), "增加了夜间疏散程序")


def test_roles_and_scope_of_drill_pages(world, db, client, login):
    a1 = make_drill(world.ent_a1, today())
    b1 = make_drill(world.ent_b1, today())
    db.session.commit()
    login("manager_b")
    assert client.get(f"/drills/{a1.id}").status_code == 404
    assert client.get(f"/drills/{a1.id}/edit").status_code == 404
    assert post_form(client, f"/drills/{a1.id}/delete", {}).status_code == 404
    assert client.get(f"/drills/enterprises/{world.ent_a1.id}").status_code == 404
    assert client.get(f"/drills/{b1.id}").status_code == 200
    records = client.get("/drills/records").text
    assert world.ent_b1.name in records and world.ent_a1.name not in records
    login("regulator")  # reads 工贸 enterprises, never edits
    assert client.get(f"/drills/{a1.id}").status_code == 200
    assert client.get(f"/drills/{a1.id}/edit").status_code == 403
    assert client.get("/drills/new").status_code == 403
    login(world.users["learner"].mobile)
    assert client.get("/drills/").status_code == 403
    assert client.get(f"/drills/{a1.id}").status_code == 403


def test_overdue_and_due_soon_lists_per_scope(world, db, client, login):
    registered_long_ago(world.ent_a1, world.ent_a2, world.ent_b1)
    make_drill(world.ent_a2, today())
    db.session.commit()
    login("manager_a")
    page = client.get("/drills/?status=overdue").text
    assert world.ent_a1.name in page and world.ent_a2.name not in page and world.ent_b1.name not in page
    assert re.search(r'id="count-overdue"[^>]*>[^<]*<span class="badge text-bg-light">1<', page)
    assert re.search(r'id="count-up_to_date"[^>]*>[^<]*<span class="badge text-bg-light">1<', page)
    home = client.get("/home").text
    assert re.search(r'id="home-drill-overdue"[^>]*>[^<]*<span class="badge text-bg-light">1<', home)
    login("manager_b")
    page = client.get("/drills/?status=overdue").text
    assert world.ent_b1.name in page and world.ent_a1.name not in page
    login("manager_trade")  # the 工贸 family across the district: a1 (粉尘) and b1
    page = client.get("/drills/?status=overdue").text
    assert world.ent_a1.name in page and world.ent_b1.name in page and world.ent_a2.name not in page
    page = client.get(f"/drills/?status=overdue&street={world.street_b.id}").text
    assert world.ent_b1.name in page and world.ent_a1.name not in page
    login("entadmin_a1")
    page = client.get("/drills/").text
    assert world.ent_a1.name in page and world.ent_a2.name not in page


def test_open_revisions_list(world, db, client, login):
    make_drill(world.ent_a1, today(), revision_state="open", scenario="化学品泄漏")
    make_drill(world.ent_a2, today(), revision_state="closed", revision_closed_on=today(), revision_notes="x",
               scenario="配电房起火")
    make_drill(world.ent_b1, today(), revision_state="open", scenario="乙镇演练")
    db.session.commit()
    login("manager_a")
    page = client.get("/drills/records?revision=open").text
    assert "化学品泄漏" in page and "配电房起火" not in page and "乙镇演练" not in page
    assert re.search(r'id="home-drill-revisions"[^>]*>[^<]*<span class="badge text-bg-light">1<',
                     client.get("/home").text)


def test_attach_and_remove_files_later(world, db, client, login):
    drill = make_drill(world.ent_a1, today())
    db.session.commit()
    login("entadmin_a1")
    page = client.get(f"/drills/{drill.id}")
    resp = client.post(f"/drills/{drill.id}/files", data={
        "csrf_token": csrf_from(page.text), "photos": [(io.BytesIO(png_bytes()), "a.png")],
        "documents": [(io.BytesIO(b"MZ\x90\x00not a pdf"), "plan.pdf")]}, content_type="multipart/form-data")
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count(DrillAttachment.id))) == 0  # one bad file: none stored
    resp = client.post(f"/drills/{drill.id}/files", data={
        "csrf_token": csrf_from(page.text), "photos": [(io.BytesIO(png_bytes()), "a.png")]},
        content_type="multipart/form-data")
    att = db.session.scalar(select(DrillAttachment))
    assert att is not None and att.kind == "photo"
    assert post_form(client, f"/drills/{drill.id}/files/{att.id}/delete", {},
                     page_url=f"/drills/{drill.id}").status_code == 302
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
    login("manager_b")
    assert client.get(f"/drills/{drill.id}/files/{att.id}").status_code == 404


def test_qr_sign_in_puts_the_drill_in_the_person_archive(world, db, client, login):
    drill = make_drill(world.ent_a1, today(), participants=1, headcount_on_duty=5)
    db.session.commit()
    login("entadmin_a1")
    assert post_form(client, f"/drills/{drill.id}/signin-code", {}, page_url=f"/drills/{drill.id}").status_code == 302
    db.session.expire_all()
    token = db.session.get(Drill, drill.id).signin_token
    assert token and 'id="drill-qr"' in client.get(f"/drills/{drill.id}").text
    login(world.users["learner"].mobile)
    page = client.get(f"/drills/signin/{token}")
    assert page.status_code == 200 and 'id="signin-form"' in page.text
    assert post_form(client, f"/drills/signin/{token}", {}, page_url=f"/drills/signin/{token}").status_code == 302
    again = client.get(f"/drills/signin/{token}")
    assert 'data-status="already"' in again.text
    assert db.session.scalar(select(func.count(DrillParticipant.id))) == 1
    archive = client.get("/archive/me").text
    assert 'id="person-drills"' in archive and "仓库起火，全员疏散" in archive
    # someone from another enterprise may not sign in
    login("entadmin_b1")
    assert client.get(f"/drills/signin/{token}").status_code == 403


def test_sign_in_closes_after_the_next_day(world, db, client, login):
    drill = make_drill(world.ent_a1, today() - dt.timedelta(days=2), signin_token="tok-old-drill")
    db.session.commit()
    login(world.users["learner"].mobile)
    page = client.get("/drills/signin/tok-old-drill")
    assert page.status_code == 409 and 'data-status="closed"' in page.text
    assert post_form(client, "/drills/signin/tok-old-drill", {}, page_url="/home").status_code == 409
    assert db.session.scalar(select(func.count(DrillParticipant.id)).where(DrillParticipant.drill_id == drill.id)) == 0


def test_enterprise_archive_lists_drills(world, db, client, login):
    make_drill(world.ent_a1, today(), scenario="厂房火灾疏散")
    db.session.commit()
    login("manager_a")
    page = client.get(f"/archive/enterprises/{world.ent_a1.id}").text
    assert 'id="enterprise-drills"' in page and "厂房火灾疏散" in page


def test_rules_page(world, db, client, login):
    login("manager_a")
    page = client.get("/drills/rules")
    assert page.status_code == 200 and 'id="defaults-note"' in page.text
    assert post_form(client, "/drills/rules", {"match": "all", "months": "12", "source": "x"}).status_code == 403
    login("admin")
    assert post_form(client, "/drills/rules/seed", {}, page_url="/drills/rules").status_code == 302
    page = client.get("/drills/rules").text
    assert "公安部令第61号" in page and 'id="defaults-note"' not in page
    resp = post_form(client, "/drills/rules", {"match": "sector", "sector_id": "0", "months": "6", "source": "区规定"},
                     page_url="/drills/rules")
    assert resp.status_code == 200 and "请选择行业领域" in resp.text
    resp = post_form(client, "/drills/rules", {"match": "sector", "sector_id": str(world.trade.id), "months": "6",
                                               "source": "区规定", "active": "y"}, page_url="/drills/rules")
    assert resp.status_code == 302
    assert service.enterprise_statuses([world.ent_b1.id])[world.ent_b1.id].months == 6
