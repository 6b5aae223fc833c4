"""Question banks and questions, with frozen versions for the attempts that used them.

A Question holds its current, editable content. The first time an exam paper uses it, the
content is frozen into a QuestionVersion (``freeze``). Editing a question whose current version
is frozen bumps ``Question.version``, so the next paper freezes the new text while past attempts
keep pointing at exactly what they showed.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import (
    JSON, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Table, Text,
    UniqueConstraint, select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow
from trainapp.org.models import Sector
from trainapp.questionbank.formats.common import stem_key

BANK_STATUSES = ("active", "archived")
QUESTION_STATUSES = ("active", "retired")
# The fields whose change is a new version of a question (what a learner sees or is graded on).
CONTENT_FIELDS = ("qtype", "stem", "options", "answer", "explanation", "source", "image_id")

question_bank_sector = Table(
    "question_bank_sector",
    db.metadata,
    Column("bank_id", ForeignKey("question_bank.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sector.id", ondelete="CASCADE"), primary_key=True),
)


def stem_hash(stem: str) -> str:
    """Digest of the normalised stem: questions with the same hash in one bank are duplicates."""
    return hashlib.sha1(stem_key(stem).encode("utf-8")).hexdigest()


def join_tags(tags: list[str]) -> str:
    """Tags stored as ",a,b," so one tag is found with LIKE '%,a,%' on any database."""
    return "," + ",".join(tags) + "," if tags else ""


class QuestionBank(TimestampMixin, db.Model):
    __tablename__ = "question_bank"
    __table_args__ = (CheckConstraint("status IN ('active','archived')", name="known_status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(60), default="other", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    audiences: Mapped[list] = mapped_column(JSON, default=list)
    # None for the banks shipped with the system (only admins edit those).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    # The shipped file a bank was loaded from (question_banks/<key>.json); None for uploaded banks.
    shipped_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    sectors: Mapped[list[Sector]] = relationship(secondary=question_bank_sector, order_by="Sector.id")
    owner = relationship("User")

    def sector_codes(self) -> list[str]:
        return [s.code for s in self.sectors]


class Question(TimestampMixin, db.Model):
    __tablename__ = "question"
    __table_args__ = (
        CheckConstraint("status IN ('active','retired')", name="known_status"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 3", name="difficulty_range"),
        Index("ix_question_bank_stem", "bank_id", "stem_hash"),
        Index("ix_question_bank_status_type", "bank_id", "status", "qtype"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_bank.id", ondelete="CASCADE"))
    qtype: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    stem_hash: Mapped[str] = mapped_column(String(40))
    options: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(String(8))
    explanation: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    difficulty: Mapped[int | None] = mapped_column(SmallInteger)
    tags: Mapped[str] = mapped_column(Text, default="")
    image_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Filled in by graded attempts.
    times_answered: Mapped[int] = mapped_column(Integer, default=0)
    times_correct: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    bank: Mapped[QuestionBank] = relationship()

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (self.tags or "").split(",") if t]

    @property
    def percent_correct(self) -> float | None:
        return 100.0 * self.times_correct / self.times_answered if self.times_answered else None

    def content(self) -> dict:
        return {f: getattr(self, f) for f in CONTENT_FIELDS}


class QuestionVersion(db.Model):
    """The exact content of a question as a paper showed it; never changed once written."""

    __tablename__ = "question_version"
    __table_args__ = (UniqueConstraint("question_id", "version", name="uq_question_version_question_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    qtype: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(String(8))
    explanation: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    image_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    question: Mapped[Question] = relationship()


def freeze(question: Question) -> QuestionVersion:
    """The frozen copy of the question's current version, written on first use."""
    frozen = db.session.scalar(select(QuestionVersion).filter_by(question_id=question.id, version=question.version))
    if frozen is None:
        frozen = QuestionVersion(question_id=question.id, version=question.version,
                                 **{f: getattr(question, f) for f in CONTENT_FIELDS})
        db.session.add(frozen)
        db.session.flush()
    return frozen


def is_frozen(question: Question) -> bool:
    return db.session.scalar(select(QuestionVersion.id).filter_by(
        question_id=question.id, version=question.version)) is not None


def update_question(question: Question, **changes) -> bool:
    """Apply changes; returns True when a new version was started because the old one is in use."""
    if "stem" in changes:
        changes["stem_hash"] = stem_hash(changes["stem"])
    if "tags" in changes and isinstance(changes["tags"], list):
        changes["tags"] = join_tags(changes["tags"])
    content_changed = any(f in changes and changes[f] != getattr(question, f) for f in CONTENT_FIELDS)
    bumped = content_changed and question.id is not None and is_frozen(question)
    for field, value in changes.items():
        setattr(question, field, value)
    if bumped:
        question.version += 1
    return bumped


def freeze_many(questions: list[Question]) -> dict[int, QuestionVersion]:
    """freeze() for a whole paper: question id -> its frozen current version.

    One query finds the versions frozen already; the missing ones are written with a single
    INSERT … ON CONFLICT DO NOTHING and read back. When two requests freeze the same new questions
    at once, the second one's insert skips the rows the first wrote (on PostgreSQL it waits for the
    first to commit) and reads them back, instead of failing on the unique constraint.
    """
    if not questions:
        return {}
    found = _frozen_versions(questions)
    missing = [q for q in questions if (q.id, q.version) not in found]
    if missing:
        db.session.execute(_insert_skipping_duplicates(QuestionVersion.__table__, ["question_id", "version"]),
                           [{"question_id": q.id, "version": q.version, **{f: getattr(q, f) for f in CONTENT_FIELDS}}
                            for q in missing])
        found.update(_frozen_versions(missing))
    return {q.id: found[(q.id, q.version)] for q in questions}


def _frozen_versions(questions: list[Question]) -> dict[tuple[int, int], QuestionVersion]:
    """(question id, version) -> frozen copy, for the current versions of `questions` frozen so far."""
    wanted = {(q.id, q.version) for q in questions}
    return {(v.question_id, v.version): v for v in db.session.scalars(
        select(QuestionVersion).where(QuestionVersion.question_id.in_([q.id for q in questions])))
        if (v.question_id, v.version) in wanted}


def _insert_skipping_duplicates(table, unique_columns: list[str]):
    """INSERT … ON CONFLICT (unique_columns) DO NOTHING, in the dialect of the session's database."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"INSERT … ON CONFLICT for {dialect}")
    return insert(table).on_conflict_do_nothing(index_elements=unique_columns)
