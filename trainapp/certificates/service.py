"""Issuing, numbering, validity, renewal, revocation and the signed verification codes."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from trainapp.audit import record
from trainapp.certificates.models import Certificate, CertificateSerial, CertificateTemplate, Verification
from trainapp.extensions import db
from trainapp.models import utcnow
from trainapp.org.models import District, Enterprise, Street

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_TEMPLATE = "standard"
LAYOUTS = ("classic", "modern")


def today() -> dt.date:
    """Today's date in Shanghai (certificates are dated locally, not in UTC)."""
    return utcnow().astimezone(SHANGHAI).date()


# --- verification codes ---------------------------------------------------------

def _signature(code: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, b"certificate:" + code.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def new_code() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def token_for(cert: Certificate) -> str:
    """What the QR code carries after /verify/: the random code and its signature."""
    return f"{cert.code}{_signature(cert.code)}"


def code_from_token(token: str) -> str | None:
    """The code inside a genuine token; None for anything forged or altered (checked before any lookup)."""
    if not isinstance(token, str) or len(token) != 28:
        return None
    code, signature = token[:16], token[16:]
    if not hmac.compare_digest(signature.encode(), _signature(code).encode()):
        return None
    return code


def verify_url(cert: Certificate) -> str:
    return f"{current_app.config['TRAINAPP_BASE_URL']}/verify/{token_for(cert)}"


# --- templates and validity --------------------------------------------------------

def ensure_default_template() -> CertificateTemplate:
    tpl = db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.code == DEFAULT_TEMPLATE))
    if tpl is None:
        tpl = CertificateTemplate(code=DEFAULT_TEMPLATE, name="标准版（有效期一年）", layout="classic",
                                  title="安全生产培训考试电子合格证明",
                                  body="经安全生产培训并参加在线考试，成绩合格，特发此证明。",
                                  validity_kind="rolling", validity_years=1, issuing_body="", active=True)
        db.session.add(tpl)
        db.session.flush()
    return tpl


def valid_until(tpl: CertificateTemplate, issued: dt.date) -> dt.date | None:
    """Rolling N years (to the day before the anniversary), to 31 December, or no expiry."""
    if tpl.validity_kind == "none":
        return None
    years = max(1, tpl.validity_years or 1)
    if tpl.validity_kind == "year_end":
        return dt.date(issued.year + years - 1, 12, 31)
    try:
        anniversary = issued.replace(year=issued.year + years)
    except ValueError:  # 29 February
        anniversary = dt.date(issued.year + years, 3, 1)
    return anniversary - dt.timedelta(days=1)


# --- numbers --------------------------------------------------------------------------

def _next_serial(district_code: str, year: int) -> int:
    for _attempt in range(3):
        bumped = db.session.execute(update(CertificateSerial).where(
            CertificateSerial.district_code == district_code, CertificateSerial.year == year)
            .values(last=CertificateSerial.last + 1))
        if bumped.rowcount == 1:
            return db.session.scalar(select(CertificateSerial.last).where(
                CertificateSerial.district_code == district_code, CertificateSerial.year == year))
        try:
            with db.session.begin_nested():
                db.session.add(CertificateSerial(district_code=district_code, year=year, last=1))
            return 1
        except IntegrityError:
            continue  # another issuer created the row first: bump it instead
    raise RuntimeError("could not allocate a certificate number")


def next_number(district_code: str, year: int) -> str:
    return f"SH-{district_code}-{year}-{_next_serial(district_code, year):06d}"


# --- issuing --------------------------------------------------------------------------

def _holder_place(person):
    """(district, enterprise, street_id, sector_id) for the holder."""
    if person is not None and person.enterprise_id:
        ent = db.session.get(Enterprise, person.enterprise_id)
        street = db.session.get(Street, ent.street_id)
        return db.session.get(District, street.district_id), ent, ent.street_id, ent.sector_id
    if person is not None and person.agency is not None:
        return person.agency.district, None, person.agency.street_id, None
    return None, None, None, None


def template_for(exam) -> CertificateTemplate | None:
    if not exam.certificate_template:
        return None
    return db.session.scalar(select(CertificateTemplate).where(
        CertificateTemplate.code == exam.certificate_template, CertificateTemplate.active.is_(True)))


def issue_for_attempt(attempt) -> Certificate | None:
    """Issue the certificate a passing attempt earns (once per attempt); renews a current one."""
    if not attempt.passed or attempt.status != "submitted":
        return None
    existing = db.session.scalar(select(Certificate).where(Certificate.attempt_id == attempt.id))
    if existing is not None:
        return existing
    exam = attempt.exam
    tpl = template_for(exam)
    if tpl is None:
        return None
    from trainapp.labels import AUDIENCE_LABELS, label
    from trainapp.questionbank.subjects import SUBJECTS

    person = attempt.person
    district, ent, street_id, sector_id = _holder_place(person)
    issued = today()
    code_prefix = district.code if district else current_app.config.get("TRAINAPP_DISTRICT_CODE", "SH")
    with force_locale("zh_CN"):
        subject_name = label(SUBJECTS, exam.subject) if exam.subject and exam.subject != "other" else ""
        audience = label(AUDIENCE_LABELS, person.audience) if person else ""
    cert = Certificate(
        number=next_number(code_prefix, issued.year), code=new_code(), attempt_id=attempt.id, exam_id=exam.id,
        template_id=tpl.id, user_id=attempt.user_id, person_id=person.id if person else None,
        holder_name=person.name if person else attempt.user.name, id_masked=person.id_number_masked if person else "",
        unit_name=person.unit_name if person else "", audience=audience, exam_title=exam.title,
        subject_name=subject_name, score=attempt.score or 0.0, max_score=attempt.max_score, issued_on=issued,
        valid_until=valid_until(tpl, issued),
        issuing_body=tpl.issuing_body or (f"{district.name}安全生产培训考核" if district else ""),
        district_id=district.id if district else None, enterprise_id=ent.id if ent else None,
        street_id=street_id, sector_id=sector_id, status="valid")
    db.session.add(cert)
    db.session.flush()
    _supersede_earlier(cert, issued)
    record("issue", cert, summary=f"{cert.number} {cert.holder_name}", actor=attempt.user)
    return cert


def _supersede_earlier(cert: Certificate, issued: dt.date) -> None:
    """Passing again while an earlier certificate of the same exam is current renews it."""
    earlier = db.session.scalars(select(Certificate).where(
        Certificate.user_id == cert.user_id, Certificate.exam_id == cert.exam_id, Certificate.id != cert.id,
        Certificate.status == "valid"))
    for old in earlier:
        if old.valid_until is None or old.valid_until >= issued:
            old.status = "superseded"
            old.superseded_by_id = cert.id


def revoke(cert: Certificate, reason: str, by) -> None:
    cert.status = "revoked"
    cert.revoke_reason = reason.strip()
    cert.revoked_at = utcnow()
    cert.revoked_by_id = by.id
    record("revoke", cert, summary=f"{cert.number}: {reason.strip()[:200]}", actor=by)


def reissue(cert: Certificate, reason: str, by) -> Certificate:
    """Revoke and issue a corrected copy (new number and code, same validity) from today's person record."""
    from trainapp.org.models import Person

    person = db.session.get(Person, cert.person_id) if cert.person_id else None
    district = db.session.get(District, cert.district_id) if cert.district_id else None
    code_prefix = district.code if district else current_app.config.get("TRAINAPP_DISTRICT_CODE", "SH")
    issued = today()
    new = Certificate(
        number=next_number(code_prefix, issued.year), code=new_code(), attempt_id=None, exam_id=cert.exam_id,
        template_id=cert.template_id, user_id=cert.user_id, person_id=cert.person_id,
        holder_name=person.name if person else cert.holder_name,
        id_masked=person.id_number_masked if person else cert.id_masked,
        unit_name=(person.unit_name if person else "") or cert.unit_name, audience=cert.audience,
        exam_title=cert.exam_title, subject_name=cert.subject_name, score=cert.score, max_score=cert.max_score,
        issued_on=issued, valid_until=cert.valid_until, issuing_body=cert.issuing_body,
        district_id=cert.district_id, enterprise_id=cert.enterprise_id, street_id=cert.street_id,
        sector_id=cert.sector_id, status="valid")
    db.session.add(new)
    db.session.flush()
    revoke(cert, reason, by)
    cert.superseded_by_id = new.id
    record("reissue", new, summary=f"{new.number} ← {cert.number}", actor=by, reason=reason.strip()[:300])
    return new


# --- public look-ups ---------------------------------------------------------------------

def find_by_token(token: str) -> Certificate | None:
    code = code_from_token(token)
    if code is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def find_by_number_and_name(number: str, name: str) -> Certificate | None:
    number, name = (number or "").strip().upper(), (name or "").strip()
    if not number or not name:
        return None
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None or cert.holder_name != name:
        return None
    return cert


def log_verification(cert: Certificate | None, via: str) -> str:
    result = cert.state() if cert is not None else "not_found"
    db.session.add(Verification(certificate_id=cert.id if cert else None, result=result, via=via))
    db.session.commit()
    return result


def mask_name(name: str) -> str:
    """张三 -> 张*, 张三丰 -> 张*丰, 欧阳娜娜 -> 欧**娜."""
    name = name or ""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def open_badge(cert: Certificate) -> dict:
    """The certificate as an Open Badges 3.0 style OpenBadgeCredential (unsigned: verify it at its id URL)."""
    base = current_app.config["TRAINAPP_BASE_URL"]
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": verify_url(cert),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": cert.template.title if cert.template else "电子合格证明",
        "issuer": {"id": base, "type": ["Profile"], "name": cert.issuing_body or base},
        "validFrom": f"{cert.issued_on.isoformat()}T00:00:00+08:00",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": cert.holder_name,
            "achievement": {
                "id": f"{base}/exams/{cert.exam_id}" if cert.exam_id else base,
                "type": ["Achievement"],
                "name": cert.exam_title,
                "description": cert.subject_name or cert.exam_title,
                "criteria": {"narrative": "在线考试成绩合格"},
            },
            "result": [{"type": ["Result"], "value": f"{cert.score:g}/{cert.max_score:g}"}],
        },
        "credentialStatus": {"id": f"{verify_url(cert)}.json", "type": "trainappVerification"},
        "identifier": cert.number,
    }
    if cert.valid_until:
        credential["validUntil"] = f"{cert.valid_until.isoformat()}T23:59:59+08:00"
    return credential
