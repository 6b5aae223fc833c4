"""Evacuation drills (疏散逃生演练): the record, its files and attendees, and the frequency rules.

A Drill is what an enterprise reports after running one; DrillRule rows say how often an
enterprise must drill (every 12 months by default, every 6 for some sectors and flags), each
with the regulation or plan it comes from, and are edited as data.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow

DRILL_KINDS = ("evacuation", "fire", "special_plan", "other")
# Only these kinds involve evacuating everyone, so only they satisfy the evacuation-drill frequency.
COUNTING_KINDS = ("evacuation", "fire")
REVISION_STATES = ("open", "closed")
RULE_MATCHES = ("all", "flag", "sector", "high_risk_sector")


class Drill(TimestampMixin, db.Model):
    """One drill an enterprise held, as reported and signed off by its principal."""

    __tablename__ = "drill"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "held_on", "kind", name="uq_drill_enterprise_day_kind"),
        CheckConstraint("kind IN ('evacuation','fire','special_plan','other')", name="known_kind"),
        CheckConstraint("participants >= 0 AND headcount_on_duty >= 0", name="counts_nonnegative"),
        CheckConstraint("participants <= headcount_on_duty", name="participants_within_headcount"),
        CheckConstraint("revision_state IS NULL OR revision_state IN ('open','closed')", name="known_revision"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20), default="evacuation")
    scenario: Mapped[str] = mapped_column(String(500))
    organiser: Mapped[str] = mapped_column(String(100))
    departments: Mapped[str] = mapped_column(String(500), default="")
    participants: Mapped[int] = mapped_column(Integer)
    headcount_on_duty: Mapped[int] = mapped_column(Integer)
    evacuation_seconds: Mapped[int | None] = mapped_column(Integer)
    problems: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    # Plan revision: None when the drill showed no need to revise the emergency plan.
    revision_state: Mapped[str | None] = mapped_column(String(10), index=True)
    revision_closed_on: Mapped[dt.date | None] = mapped_column(Date)
    revision_notes: Mapped[str] = mapped_column(Text, default="")
    signed_by: Mapped[str] = mapped_column(String(50))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10), default="form")  # form | import
    signin_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    enterprise = relationship("Enterprise")
    attachments: Mapped[list[DrillAttachment]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillAttachment.id")

    @property
    def revision_needed(self) -> bool:
        return self.revision_state is not None


class DrillAttachment(db.Model):
    """A photo or document of a drill; the bytes live in stored_file, checked by content."""

    __tablename__ = "drill_attachment"
    __table_args__ = (CheckConstraint("kind IN ('photo','document')", name="known_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    drill: Mapped[Drill] = relationship(back_populates="attachments")
    file = relationship("StoredFile")


class DrillParticipant(db.Model):
    """A person recorded as taking part in a drill (by list import, QR sign-in or by hand)."""

    __tablename__ = "drill_participant"
    __table_args__ = (UniqueConstraint("drill_id", "person_id", name="uq_drill_participant_drill_person"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10))  # import | qr | manual
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    person = relationship("Person")


class DrillRule(db.Model):
    """How often enterprises matching this rule must drill, and why.

    `match` says what the rule looks at: 'all' (every enterprise), 'flag' (an Enterprise flag named
    in `flag`), 'sector' (the sector `sector_id` and its sub-sectors) or 'high_risk_sector' (any
    sector marked high-risk). An enterprise gets the shortest interval among the rules it matches.
    """

    __tablename__ = "drill_rule"
    __table_args__ = (
        CheckConstraint("match IN ('all','flag','sector','high_risk_sector')", name="known_match"),
        CheckConstraint("months IN (3, 6, 12)", name="calendar_months"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    match: Mapped[str] = mapped_column(String(20))
    flag: Mapped[str | None] = mapped_column(String(30))
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id", ondelete="CASCADE"), index=True)
    months: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sector = relationship("Sector")
