"""Certificates and what they are issued from; verification log; external permits.

A certificate is immutable once issued apart from its status: renewal issues a new one and
marks the old one superseded, revocation records who, when and why. The PDF is rendered once
and stored with it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow

VALIDITY_KINDS = ("rolling", "year_end", "none")
CERT_STATUSES = ("valid", "revoked", "superseded")  # "expired" is derived from valid_until


class CertificateTemplate(TimestampMixin, db.Model):
    """How a certificate looks (an HTML/CSS file in templates/certificates/) and how long it is valid."""

    __tablename__ = "certificate_template"
    __table_args__ = (
        CheckConstraint("validity_kind IN ('rolling','year_end','none')", name="known_validity"),
        CheckConstraint("validity_years >= 0", name="validity_years_nonnegative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    layout: Mapped[str] = mapped_column(String(60), default="classic")  # templates/certificates/<layout>.html
    title: Mapped[str] = mapped_column(String(100), default="安全生产培训考试电子合格证明")
    body: Mapped[str] = mapped_column(Text, default="")
    validity_kind: Mapped[str] = mapped_column(String(10), default="rolling")
    validity_years: Mapped[int] = mapped_column(Integer, default=1)
    issuing_body: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DistrictSeal(db.Model):
    """The seal image printed on a district's certificates."""

    __tablename__ = "district_seal"
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CertificateSerial(db.Model):
    """The last serial number used per district and year (numbers never repeat)."""

    __tablename__ = "certificate_serial"
    district_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Certificate(TimestampMixin, db.Model):
    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint("status IN ('valid','revoked','superseded')", name="known_status"),
        UniqueConstraint("attempt_id", name="uq_certificate_attempt_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # random part of the verification URL
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id", ondelete="SET NULL"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("certificate_template.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    # Copied at issue time: the certificate states what was true then.
    holder_name: Mapped[str] = mapped_column(String(50))
    id_masked: Mapped[str] = mapped_column(String(30), default="")
    unit_name: Mapped[str] = mapped_column(String(120), default="")
    audience: Mapped[str] = mapped_column(String(20), default="")
    exam_title: Mapped[str] = mapped_column(String(200))
    subject_name: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    issued_on: Mapped[dt.date] = mapped_column(Date, index=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, index=True)
    issuing_body: Mapped[str] = mapped_column(String(100), default="")
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    # Scope columns, so lists filter like every other record.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="SET NULL"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="valid", index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    template: Mapped[CertificateTemplate] = relationship()
    superseded_by: Mapped[Certificate | None] = relationship(remote_side=[id], foreign_keys=[superseded_by_id])
    enterprise = relationship("Enterprise")

    def state(self, today: dt.date | None = None) -> str:
        """valid / expired / revoked / superseded, as of today."""
        if self.status != "valid":
            return self.status
        today = today or dt.date.today()
        if self.valid_until is not None and today > self.valid_until:
            return "expired"
        return "valid"


class Verification(db.Model):
    """Each public look-up: when, which certificate (if any), the result and how it was asked."""

    __tablename__ = "certificate_verification"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="SET NULL"), index=True)
    result: Mapped[str] = mapped_column(String(12))
    via: Mapped[str] = mapped_column(String(10))  # qr | json | number


class Permit(TimestampMixin, db.Model):
    """A special worker's external permit (特种作业操作证): valid 6 years, reviewed every 3 (DOMAIN §4)."""

    __tablename__ = "permit"
    __table_args__ = (UniqueConstraint("person_id", "number", name="uq_permit_person_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="SET NULL"), index=True)
    operation_type: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(60))
    authority: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date, index=True)
    next_review_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    person = relationship("Person")


class BatchJob(db.Model):
    """A batch print: many certificates into one PDF or a zip, built in the background with progress."""

    __tablename__ = "certificate_batch"
    __table_args__ = (CheckConstraint("status IN ('queued','running','done','failed')", name="known_status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(4))  # pdf | zip
    status: Mapped[str] = mapped_column(String(10), default="queued")
    certificate_ids: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
