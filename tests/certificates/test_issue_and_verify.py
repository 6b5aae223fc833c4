"""Issuing on a pass, the PDF (fonts, text, QR), public verification, renewal, revocation."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.certificates.helpers import certified_exam, decode_qr, pass_exam, rasterise
from tests.conftest import csrf_from
from tests.exams.helpers import make_exam
from trainapp.certificates import pdf, service
from trainapp.certificates.models import Certificate, CertificateTemplate, Verification
from trainapp.exams import service as exam_service


def _learner(world):
    return world.users["learner"]


def test_a_pass_issues_one_certificate_with_a_readable_number(world, db):
    exam = certified_exam()
    attempt = pass_exam(_learner(world), exam)
    certs = db.session.scalars(select(Certificate)).all()
    assert len(certs) == 1
    cert = certs[0]
    year = service.today().year
    assert re.fullmatch(rf"SH-{world.district.code}-{year}-000001", cert.number)
    assert cert.attempt_id == attempt.id and cert.holder_name == world.users["learner"].person.name
    assert cert.unit_name == world.ent_a1.name and cert.enterprise_id == world.ent_a1.id
    assert cert.subject_name == "工贸企业重大事故隐患判定标准"
    assert cert.valid_until == service.valid_until(cert.template, cert.issued_on)
    # Issuing again for the same attempt changes nothing.
    assert service.issue_for_attempt(attempt).id == cert.id
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_a_fail_or_an_exam_without_template_issues_nothing(world, db):
    exam = certified_exam()
    attempt = exam_service.start_attempt(_learner(world), exam)
    exam_service.submit(attempt)  # nothing answered: fails
    db.session.commit()
    no_template = make_exam(exam.parts[0].bank, title="无证书考试", parts=(("single", 1, ""),))
    pass_exam(_learner(world), no_template)
    assert db.session.scalar(select(func.count(Certificate.id))) == 0


@pytest.mark.parametrize("kind,years,issued,expected", [
    ("rolling", 1, dt.date(2026, 11, 23), dt.date(2027, 11, 22)),
    ("rolling", 3, dt.date(2024, 2, 29), dt.date(2027, 2, 28)),
    ("year_end", 1, dt.date(2026, 3, 5), dt.date(2026, 12, 31)),
    ("year_end", 2, dt.date(2026, 3, 5), dt.date(2027, 12, 31)),
    ("none", 0, dt.date(2026, 3, 5), None),
])
def test_validity_rules(kind, years, issued, expected):
    assert service.valid_until(CertificateTemplate(validity_kind=kind, validity_years=years), issued) == expected


def test_passing_again_renews_and_supersedes(world, db):
    exam = certified_exam(max_attempts=0)
    pass_exam(_learner(world), exam)
    pass_exam(_learner(world), exam)
    old, new = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    assert (old.status, old.superseded_by_id) == ("superseded", new.id)
    assert new.status == "valid" and new.number.endswith("000002")


def test_an_expired_certificate_is_not_superseded_by_a_new_pass(world, db):
    exam = certified_exam(max_attempts=0)
    pass_exam(_learner(world), exam)
    old = db.session.scalar(select(Certificate))
    old.issued_on, old.valid_until = dt.date(2020, 1, 1), dt.date(2020, 12, 31)
    db.session.commit()
    pass_exam(_learner(world), exam)
    db.session.refresh(old)
    assert old.status == "valid" and old.state() == "expired"


def test_pdf_embeds_a_cjk_font_and_the_holder_name_is_text(world, db):
    person = world.users["learner"].person
    person.name = "龚𠮷䶮"  # rare characters: extension B and extension A
    db.session.commit()
    pass_exam(_learner(world), certified_exam())
    cert = db.session.scalar(select(Certificate))
    data = pdf.stored_pdf(cert)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape
    text = reader.pages[0].extract_text()
    assert "龚𠮷䶮" in text and cert.number in text
    fonts = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descendant = font.get("/DescendantFonts")
        descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
        if descriptor is not None:
            descriptor = descriptor.get_object()
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.append((str(font.get("/BaseFont")), embedded))
    assert fonts and all(embedded for _name, embedded in fonts), fonts
    assert any("Noto" in name for name, _e in fonts), "the rare characters come from the embedded Noto CJK font"


def test_pdf_is_stored_once_and_served_as_is(client, world, login, db):
    pass_exam(_learner(world), certified_exam())
    cert = db.session.scalar(select(Certificate))
    login(_learner(world).mobile)
    first = client.get(f"/certificates/{cert.id}.pdf")
    second = client.get(f"/certificates/{cert.id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data == second.data and first.data.startswith(b"%PDF")


def test_qr_on_the_pdf_leads_to_a_valid_verification(client, world, db):
    pass_exam(_learner(world), certified_exam())
    cert = db.session.scalar(select(Certificate))
    url = decode_qr(rasterise(pdf.stored_pdf(cert)))
    assert url.startswith("http://testserver/verify/")
    page = client.get(url.replace("http://testserver", ""))
    assert page.status_code == 200 and 'data-state="valid"' in page.text
    assert cert.number in page.text and cert.holder_name not in page.text  # the name is masked
    assert service.mask_name(cert.holder_name) in page.text
    as_json = client.get(url.replace("http://testserver", "") + ".json").get_json()
    assert as_json["state"] == "valid" and as_json["number"] == cert.number
    assert set(as_json) <= {"state", "number", "holder", "unit", "exam", "subject", "issued_on", "valid_until",
                            "issuing_body", "superseded_by"}
    assert db.session.scalar(select(func.count(Verification.id)).where(Verification.result == "valid")) == 2


def test_forged_and_altered_codes_are_not_found_without_a_lookup(client, world, db):
    pass_exam(_learner(world), certified_exam())
    cert = db.session.scalar(select(Certificate))
    token = service.token_for(cert)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = service.new_code() + token[16:]  # a made-up code with a copied signature
    for bad in (altered, forged, "x" * 28, "short"):
        # The signature check fails first, so the database is never asked.
        assert service.code_from_token(bad) is None
        resp = client.get(f"/verify/{bad}")
        assert resp.status_code == 404 and 'data-state="not_found"' in resp.text
    assert service.code_from_token(token) == cert.code
    assert client.get(f"/verify/{token}").status_code == 200


def test_expired_revoked_and_superseded_are_so_shown(client, world, db):
    exam = certified_exam(max_attempts=0)
    pass_exam(_learner(world), exam)
    cert = db.session.scalar(select(Certificate))
    cert.valid_until = service.today() - dt.timedelta(days=1)
    db.session.commit()
    assert 'data-state="expired"' in client.get(f"/verify/{service.token_for(cert)}").text
    cert.valid_until = service.today() + dt.timedelta(days=100)
    db.session.commit()
    new = service.reissue(cert, "姓名录入有误", world.users["admin"])
    db.session.commit()
    page = client.get(f"/verify/{service.token_for(cert)}")
    assert 'data-state="revoked"' in page.text and new.number in page.text
    assert 'data-state="valid"' in client.get(f"/verify/{service.token_for(new)}").text


def test_verify_by_number_and_name(client, world, db):
    pass_exam(_learner(world), certified_exam())
    cert = db.session.scalar(select(Certificate))
    page = client.get("/verify")
    ok = client.post("/verify", data={"csrf_token": csrf_from(page.text), "number": cert.number.lower(),
                                      "name": cert.holder_name})
    assert 'data-state="valid"' in ok.text
    wrong = client.post("/verify", data={"csrf_token": csrf_from(page.text), "number": cert.number, "name": "别人"})
    assert 'data-state="not_found"' in wrong.text


def test_verification_is_rate_limited(client, world, db):
    page = client.get("/verify")
    token = csrf_from(page.text)
    codes = [client.post("/verify", data={"csrf_token": token, "number": "SH-X", "name": "某"}).status_code
             for _ in range(12)]
    assert codes[:10] == [200] * 10 and codes[-1] == 429


def test_open_badge_export_is_the_owners_only(client, world, login, db):
    pass_exam(_learner(world), certified_exam())
    cert = db.session.scalar(select(Certificate))
    login(_learner(world).mobile)
    badge = client.get(f"/certificates/{cert.id}/credential.json").get_json()
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["id"].endswith(service.token_for(cert))
    assert badge["credentialSubject"]["achievement"]["name"] == cert.exam_title
    assert badge["validUntil"].startswith(cert.valid_until.isoformat())
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("trainer")
    assert client.get(f"/certificates/{cert.id}/credential.json").status_code == 404
    assert client.get(f"/certificates/{cert.id}.pdf").status_code == 404
