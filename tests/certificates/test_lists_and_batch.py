"""Certificates in scope: lists, filters, expiry, batch print (one PDF, zip), revocation, CLI."""
from __future__ import annotations

import datetime as dt
import io
import time
import zipfile

from pypdf import PdfReader
from sqlalchemy import select

from tests import factories
from tests.certificates.helpers import certified_exam, pass_exam
from tests.conftest import csrf_from
from trainapp.auth.models import RoleGrant
from trainapp.certificates import service
from trainapp.certificates.models import BatchJob, Certificate


def _learner_in(enterprise, name, mobile_suffix):
    person = factories.person(enterprise, name, audience="staff")
    return factories.user(person.mobile, RoleGrant(role="learner"), person_obj=person, mobile_login=True)


def _population(world, db):
    exam = certified_exam()
    people = [(world.ent_a1, "甲一张三"), (world.ent_a1, "甲一李四"), (world.ent_a2, "甲二王五"), (world.ent_b1, "乙一赵六")]
    users = [_learner_in(ent, name, i) for i, (ent, name) in enumerate(people)]
    db.session.commit()
    for user in users:
        pass_exam(user, exam)
    return exam


def _names(html):
    return {n for n in ("甲一张三", "甲一李四", "甲二王五", "乙一赵六") if n in html}


def test_lists_are_scoped(client, world, login, db):
    _population(world, db)
    login("manager_a")
    assert _names(client.get("/certificates/").text) == {"甲一张三", "甲一李四", "甲二王五"}
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("entadmin_b1")
    assert _names(client.get("/certificates/").text) == {"乙一赵六"}
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("trainer")
    assert client.get("/certificates/").status_code == 403


def test_out_of_scope_certificate_is_404(client, world, login, db):
    _population(world, db)
    other = db.session.scalar(select(Certificate).where(Certificate.holder_name == "乙一赵六"))
    login("manager_a")
    assert client.get(f"/certificates/{other.id}.pdf").status_code == 404
    token = csrf_from(client.get("/certificates/").text)
    assert client.post(f"/certificates/{other.id}/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 404


def test_filters_and_expiring_list(client, world, login, db):
    _population(world, db)
    soon = db.session.scalar(select(Certificate).where(Certificate.holder_name == "甲一李四"))
    soon.valid_until = service.today() + dt.timedelta(days=10)
    gone = db.session.scalar(select(Certificate).where(Certificate.holder_name == "甲二王五"))
    gone.valid_until = service.today() - dt.timedelta(days=1)
    db.session.commit()
    login("manager_district")
    assert _names(client.get("/certificates/?expiring=30").text) == {"甲一李四"}
    assert _names(client.get("/certificates/?state=expired").text) == {"甲二王五"}
    assert _names(client.get(f"/certificates/?enterprise={world.ent_a1.id}").text) == {"甲一张三", "甲一李四"}
    assert _names(client.get("/certificates/?q=赵六").text) == {"乙一赵六"}


def _wait(db, job_id, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        db.session.expire_all()
        job = db.session.get(BatchJob, job_id)
        if job.status in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("batch job did not finish")


def test_batch_print_filtered_list_as_one_pdf_and_as_zip(client, world, login, db):
    _population(world, db)
    login("manager_a")
    page = client.get("/certificates/")
    resp = client.post("/certificates/batch", data={"csrf_token": csrf_from(page.text), "scope": "filtered",
                                                    "kind": "pdf", "street": str(world.street_a.id)})
    assert resp.status_code == 302
    job_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    job = _wait(db, job_id)
    assert job.status == "done" and job.total == 3
    status = client.get(f"/certificates/batch/{job_id}?format=json").get_json()
    assert status["status"] == "done" and status["download"]
    merged = client.get(status["download"])
    reader = PdfReader(io.BytesIO(merged.data))
    assert len(reader.pages) == 3
    text = "".join(p.extract_text() for p in reader.pages)
    assert _names(text) == {"甲一张三", "甲一李四", "甲二王五"}

    chosen = db.session.scalars(select(Certificate.id).order_by(Certificate.id)).all()
    resp = client.post("/certificates/batch", data={"csrf_token": csrf_from(page.text), "scope": "selected",
                                                    "kind": "zip", "ids": [str(i) for i in chosen]})
    job = _wait(db, int(resp.headers["Location"].rstrip("/").split("/")[-1]))
    assert job.total == 3  # the certificate outside the manager's street was dropped
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/certificates/batch/{job.id}/download").data))
    assert len(archive.namelist()) == 3 and all(n.endswith(".pdf") for n in archive.namelist())


def test_batch_job_belongs_to_its_creator(client, world, login, db):
    _population(world, db)
    job = BatchJob(user_id=world.users["manager_b"].id, kind="pdf", status="done", certificate_ids=[], total=0)
    db.session.add(job)
    db.session.commit()
    login("manager_a")
    assert client.get(f"/certificates/batch/{job.id}").status_code == 404
    assert client.get(f"/certificates/batch/{job.id}/download").status_code == 404


def test_revoke_and_reissue_need_a_reason_and_are_audited(client, world, login, db):
    from trainapp.audit import AuditEvent

    _population(world, db)
    cert = db.session.scalar(select(Certificate).where(Certificate.holder_name == "甲一张三"))
    login("manager_a")
    token = csrf_from(client.get("/certificates/").text)
    client.post(f"/certificates/{cert.id}/revoke", data={"csrf_token": token, "reason": ""})
    db.session.refresh(cert)
    assert cert.status == "valid"
    client.post(f"/certificates/{cert.id}/revoke", data={"csrf_token": token, "reason": "姓名有误", "action": "reissue"})
    db.session.refresh(cert)
    assert cert.status == "revoked" and cert.revoke_reason == "姓名有误" and cert.superseded_by_id
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "certificate")))
    assert {"issue", "revoke", "reissue"} <= actions


def test_learner_sees_own_certificates(client, world, login, db):
    pass_exam(world.users["learner"], certified_exam())
    login(world.users["learner"].mobile)
    page = client.get("/certificates/mine")
    assert "cert-download" in page.text and "/verify/" in page.text


def test_cli_list_and_render(app, world, db, tmp_path):
    _population(world, db)
    cert = db.session.scalar(select(Certificate).where(Certificate.holder_name == "甲一张三"))
    cert.status = "revoked"
    db.session.commit()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["certificates", "list", "--format", "csv"])
    assert listing.exit_code == 0
    lines = listing.output.strip().splitlines()
    assert lines[0] == "number,holder,status,verify_url" and len(lines) == 5
    revoked = runner.invoke(args=["certificates", "list", "--status", "revoked"])
    assert cert.number in revoked.output and "1 certificate(s)" in revoked.output
    out = tmp_path / "c.pdf"
    rendered = runner.invoke(args=["certificates", "render", cert.number, "--output", str(out)])
    assert rendered.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
    assert "甲一张三" in PdfReader(str(out)).pages[0].extract_text()
    assert runner.invoke(args=["certificates", "render", "SH-NOPE", "--output", str(out)]).exit_code == 1


def test_admin_edits_and_previews_templates(client, world, login, db):
    from trainapp.certificates.models import CertificateTemplate

    service.ensure_default_template()
    db.session.commit()
    login("admin")
    page = client.get("/certificates/templates/new")
    resp = client.post("/certificates/templates/new", data={
        "csrf_token": csrf_from(page.text), "code": "three-years", "name": "三年有效", "layout": "modern",
        "title": "安全培训合格证明", "validity_kind": "rolling", "validity_years": "3", "active": "y"})
    assert resp.status_code == 302
    tpl = db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.code == "three-years"))
    assert (tpl.layout, tpl.validity_years) == ("modern", 3)
    bad = client.post("/certificates/templates/new", data={
        "csrf_token": csrf_from(page.text), "code": "Bad Code!", "name": "x", "layout": "modern", "title": "t",
        "validity_kind": "rolling", "validity_years": "1"})
    assert bad.status_code == 200 and "只能使用小写字母" in bad.text
    preview = client.get(f"/certificates/templates/{tpl.id}/preview.pdf")
    assert preview.status_code == 200 and "张三" in PdfReader(io.BytesIO(preview.data)).pages[0].extract_text()
    assert db.session.scalar(select(Certificate.id)) is None  # the sample was not saved
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("manager_a")
    assert client.get("/certificates/templates/").status_code == 403


def test_district_seal_upload_is_checked_by_content(client, world, login, db):
    from PIL import Image

    from trainapp.certificates.models import DistrictSeal

    login("admin")
    page = client.get("/certificates/templates/")
    fake = client.post("/certificates/templates/seal", data={
        "csrf_token": csrf_from(page.text), "district_id": str(world.district.id),
        "image": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "seal.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "不是可识别的图片" in fake.text and db.session.get(DistrictSeal, world.district.id) is None
    buf = io.BytesIO()
    Image.new("RGBA", (60, 60), (200, 0, 0, 255)).save(buf, "PNG")
    ok = client.post("/certificates/templates/seal", data={
        "csrf_token": csrf_from(page.text), "district_id": str(world.district.id),
        "image": (io.BytesIO(buf.getvalue()), "seal.png")}, content_type="multipart/form-data")
    assert ok.status_code == 302 and db.session.get(DistrictSeal, world.district.id) is not None
