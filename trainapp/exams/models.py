"""Exams, the papers drawn for each attempt, answers, and practice records.

An attempt's paper is frozen when it starts: each AttemptItem points at a QuestionVersion and
stores the order its options were shown in, so later edits to a bank never change a past paper.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer, String, Table, Text,
    UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow
from trainapp.org.models import Sector

EXAM_STATUSES = ("draft", "published", "closed")
REVIEW_CONTENT = ("score", "answers", "full")  # score only / + their answers / + key and explanations
REVIEW_WHEN = ("immediately", "after_close")
COUNTS = ("highest", "last")
ATTEMPT_STATUSES = ("open", "submitted")

exam_sector = Table(
    "exam_sector",
    db.metadata,
    Column("exam_id", ForeignKey("exam.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sector.id", ondelete="CASCADE"), primary_key=True),
)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


class Exam(TimestampMixin, db.Model):
    __tablename__ = "exam"
    __table_args__ = (
        CheckConstraint("status IN ('draft','published','closed')", name="known_status"),
        CheckConstraint("time_limit_minutes > 0", name="positive_time_limit"),
        CheckConstraint("pass_percent BETWEEN 0 AND 100", name="pass_percent_range"),
        CheckConstraint("max_attempts >= 0 AND retry_wait_minutes >= 0", name="attempt_rules"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    audiences: Mapped[list] = mapped_column(JSON, default=list)  # empty: everyone
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    fixed_paper: Mapped[bool] = mapped_column(Boolean, default=False)
    points_single: Mapped[float] = mapped_column(Float, default=2.0)
    points_multiple: Mapped[float] = mapped_column(Float, default=3.0)
    points_truefalse: Mapped[float] = mapped_column(Float, default=1.0)
    partial_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    time_limit_minutes: Mapped[int] = mapped_column(Integer, default=60)
    pass_percent: Mapped[float] = mapped_column(Float, default=60.0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)  # 0: unlimited
    retry_wait_minutes: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[str] = mapped_column(String(10), default="highest")
    opens_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True)
    shuffle_options: Mapped[bool] = mapped_column(Boolean, default=True)
    one_per_page: Mapped[bool] = mapped_column(Boolean, default=True)
    review_content: Mapped[str] = mapped_column(String(10), default="full")
    review_when: Mapped[str] = mapped_column(String(12), default="immediately")
    # The certificate template a pass issues (certificates feature); None: no certificate.
    certificate_template: Mapped[str | None] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(60), default="other")
    sectors: Mapped[list[Sector]] = relationship(secondary=exam_sector, order_by="Sector.id")
    parts: Mapped[list[ExamPart]] = relationship(back_populates="exam", cascade="all, delete-orphan",
                                                 order_by="ExamPart.position")
    fixed_questions: Mapped[list[ExamFixedQuestion]] = relationship(
        back_populates="exam", cascade="all, delete-orphan", order_by="ExamFixedQuestion.position")
    owner = relationship("User")

    def points_for(self, qtype: str) -> float:
        return float({"single": self.points_single, "multiple": self.points_multiple,
                      "truefalse": self.points_truefalse}.get(qtype, 1.0))

    @property
    def opens(self) -> dt.datetime | None:
        return _aware(self.opens_at)

    @property
    def closes(self) -> dt.datetime | None:
        return _aware(self.closes_at)

    def is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return (self.status == "published" and (self.opens is None or self.opens <= now)
                and (self.closes is None or now < self.closes))


class ExamPart(db.Model):
    """One line of a blueprint: draw `count` questions of `qtype` from a bank, optionally by tag/difficulty."""

    __tablename__ = "exam_part"
    __table_args__ = (CheckConstraint("count > 0", name="positive_count"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_bank.id"), index=True)
    qtype: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    tag: Mapped[str] = mapped_column(String(60), default="")
    difficulty: Mapped[int | None] = mapped_column(Integer)
    exam: Mapped[Exam] = relationship(back_populates="parts")
    bank = relationship("QuestionBank")


class ExamFixedQuestion(db.Model):
    """A question of a fixed paper (every attempt gets the same questions)."""

    __tablename__ = "exam_fixed_question"
    __table_args__ = (UniqueConstraint("exam_id", "question_id", name="uq_exam_fixed_question_exam_question"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    exam: Mapped[Exam] = relationship(back_populates="fixed_questions")
    question = relationship("Question")


class Attempt(db.Model):
    __tablename__ = "attempt"
    __table_args__ = (
        CheckConstraint("status IN ('open','submitted')", name="known_status"),
        UniqueConstraint("exam_id", "user_id", "number", name="uq_attempt_exam_user_number"),
        # At most one open attempt per learner and exam, enforced by the database.
        Index("uq_attempt_one_open", "exam_id", "user_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_attempt_status_deadline", "status", "deadline"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deadline: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    leave_count: Mapped[int] = mapped_column(Integer, default=0)
    exam: Mapped[Exam] = relationship()
    user = relationship("User")
    person = relationship("Person")
    items: Mapped[list[AttemptItem]] = relationship(back_populates="attempt", cascade="all, delete-orphan",
                                                    order_by="AttemptItem.position")

    @property
    def deadline_at(self) -> dt.datetime:
        return _aware(self.deadline)

    @property
    def percent(self) -> float | None:
        if self.score is None or not self.max_score:
            return None
        return 100.0 * self.score / self.max_score


class AttemptItem(db.Model):
    """One question of an attempt's paper, as shown, and the learner's answer to it."""

    __tablename__ = "attempt_item"
    __table_args__ = (UniqueConstraint("attempt_id", "position", name="uq_attempt_item_attempt_position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    # option_order[i] is the index (in the stored question) of the option shown i-th.
    option_order: Mapped[list] = mapped_column(JSON, default=list)
    points: Mapped[float] = mapped_column(Float)
    response: Mapped[str] = mapped_column(String(8), default="")  # in the stored question's letters
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    score: Mapped[float | None] = mapped_column(Float)
    attempt: Mapped[Attempt] = relationship(back_populates="items")
    version = relationship("QuestionVersion")


class AttemptEvent(db.Model):
    """Things that happened during an attempt: the page hidden or shown again, a resume."""

    __tablename__ = "attempt_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))


class WrongAnswer(db.Model):
    """A learner's wrong-answer book (错题本) entry, from practice or graded exams."""

    __tablename__ = "wrong_answer"
    __table_args__ = (UniqueConstraint("user_id", "question_id", name="uq_wrong_answer_user_question"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    wrong_count: Mapped[int] = mapped_column(Integer, default=1)
    last_response: Mapped[str] = mapped_column(String(8), default="")
    last_wrong_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    question = relationship("Question")
