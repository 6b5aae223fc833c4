"""Spot checks during inspections (逢查必考、逢查必问): the check, its frozen paper, workers' answers, oral questions.

A SpotCheck belongs to one enterprise and has one paper for everyone who answers it: each
SpotCheckQuestion points at a frozen QuestionVersion and keeps the option order shown, exactly as an
exam paper does, so later edits to a bank never change a past check. Workers answer without an
account; each SpotCheckAnswer records who they said they were and whether that matched the staff list.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow

MATCHES = ("matched", "unmatched", "ambiguous")
QUALITIES = ("good", "fair", "poor")


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Stored times are UTC; SQLite hands them back naive."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


class SpotCheckPreset(TimestampMixin, db.Model):
    """A saved short paper: `count` questions from a bank (None: the enterprise's sector standard), maybe by tag."""

    __tablename__ = "spot_check_preset"
    __table_args__ = (CheckConstraint("count BETWEEN 1 AND 20", name="count_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("question_bank.id", ondelete="CASCADE"), index=True)
    count: Mapped[int] = mapped_column(Integer, default=5)
    tag: Mapped[str] = mapped_column(String(60), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    bank = relationship("QuestionBank")


class SpotCheck(TimestampMixin, db.Model):
    __tablename__ = "spot_check"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("max_answers > 0", name="positive_cap"),
        Index("ix_spot_check_enterprise_opens", "enterprise_id", "opens_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    inspector_name: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(200))
    paper_note: Mapped[str] = mapped_column(String(300), default="")  # where the questions came from
    token: Mapped[str] = mapped_column(String(64), unique=True)
    opens_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closes_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Answers accepted at most (a flood from many addresses still stops here).
    max_answers: Mapped[int] = mapped_column(Integer, default=100)
    notes: Mapped[str] = mapped_column(Text, default="")
    enterprise = relationship("Enterprise")
    inspector = relationship("User")
    questions: Mapped[list[SpotCheckQuestion]] = relationship(
        back_populates="spot_check", cascade="all, delete-orphan", order_by="SpotCheckQuestion.position")

    @property
    def opens(self) -> dt.datetime:
        return aware(self.opens_at)

    @property
    def closes(self) -> dt.datetime:
        return aware(self.closes_at)

    def is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return self.opens <= now < self.closes


class SpotCheckQuestion(db.Model):
    """One question of a check's paper as shown (same for everyone answering that check)."""

    __tablename__ = "spot_check_question"
    __table_args__ = (UniqueConstraint("spot_check_id", "position", name="uq_spot_check_question_position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    # option_order[i] is the index (in the stored question) of the option shown i-th.
    option_order: Mapped[list] = mapped_column(JSON, default=list)
    points: Mapped[float] = mapped_column(Float, default=1.0)
    spot_check: Mapped[SpotCheck] = relationship(back_populates="questions")
    version = relationship("QuestionVersion")


class SpotCheckAnswer(db.Model):
    """One worker's submission. `identity` makes "one per person" a database rule:
    'p:<person id>' when matched to the staff list, else 'n:<normalised name>:<last 4 digits>'."""

    __tablename__ = "spot_check_answer"
    __table_args__ = (
        UniqueConstraint("spot_check_id", "identity", name="uq_spot_check_answer_identity"),
        CheckConstraint("match IN ('matched','unmatched','ambiguous')", name="known_match"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"), index=True)
    identity: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(50))
    mobile_last4: Mapped[str] = mapped_column(String(4))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    match: Mapped[str] = mapped_column(String(10))
    # How many staff fitted the name (and digits) when matching: 0 unmatched, 1 matched, 2+ ambiguous.
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    spot_check: Mapped[SpotCheck] = relationship()
    person = relationship("Person")
    responses: Mapped[list[SpotCheckResponse]] = relationship(
        back_populates="answer", cascade="all, delete-orphan", order_by="SpotCheckResponse.question_id")


class SpotCheckResponse(db.Model):
    """A worker's answer to one question of the paper, graded on submit."""

    __tablename__ = "spot_check_response"
    __table_args__ = (UniqueConstraint("answer_id", "question_id", name="uq_spot_check_response_question"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("spot_check_answer.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("spot_check_question.id", ondelete="CASCADE"), index=True)
    response: Mapped[str] = mapped_column(String(8), default="")  # in the stored question's letters
    score: Mapped[float] = mapped_column(Float, default=0.0)
    correct: Mapped[bool] = mapped_column(Boolean, default=False)
    answer: Mapped[SpotCheckAnswer] = relationship(back_populates="responses")
    question: Mapped[SpotCheckQuestion] = relationship()


class SpotCheckOral(db.Model):
    """An oral question the inspector asked on site (逢查必问) and how well it was answered."""

    __tablename__ = "spot_check_oral"
    __table_args__ = (CheckConstraint("quality IN ('good','fair','poor')", name="known_quality"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(500))
    answered_by: Mapped[str] = mapped_column(String(50), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    quality: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    person = relationship("Person")
