"""Courses and lessons, enrolment and progress, classroom sessions, yearly requirements, plans, archives.

TrainingRecord is the archive (培训档案): every completed lesson, classroom attendance, passed exam
becomes one row, and rows are never changed or deleted — a correction is a new row that names
the row it corrects (``corrects_id``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Column, Date, DateTime, Float, ForeignKey, Index, Integer, String, Table, Text,
    UniqueConstraint, event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow
from trainapp.org.models import Sector

LESSON_KINDS = ("text", "pdf", "video")
ENROLMENT_SOURCES = ("self", "enterprise", "manager")
RECORD_KINDS = ("lesson", "course", "classroom", "exam", "correction")

course_sector = Table(
    "course_sector",
    db.metadata,
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sector.id", ondelete="CASCADE"), primary_key=True),
)


class Course(TimestampMixin, db.Model):
    __tablename__ = "course"
    __table_args__ = (CheckConstraint("status IN ('draft','published','archived')", name="known_status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shipped_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    audiences: Mapped[list] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exam.id", ondelete="SET NULL"))
    # Progress stops when the page is hidden or untouched this long.
    idle_minutes: Mapped[int] = mapped_column(Integer, default=5)
    sectors: Mapped[list[Sector]] = relationship(secondary=course_sector, order_by="Sector.id")
    lessons: Mapped[list[Lesson]] = relationship(back_populates="course", cascade="all, delete-orphan",
                                                 order_by="Lesson.position")
    exam = relationship("Exam")

    @property
    def hours(self) -> float:
        return round(sum(lesson.hours for lesson in self.lessons), 2)


class Lesson(db.Model):
    __tablename__ = "lesson"
    __table_args__ = (
        CheckConstraint("kind IN ('text','pdf','video')", name="known_kind"),
        CheckConstraint("hours > 0", name="positive_hours"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="text")
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised when saved
    source: Mapped[str] = mapped_column(String(300), default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))  # a PDF
    video_path: Mapped[str | None] = mapped_column(String(300))  # an uploaded video, under instance/media
    video_url: Mapped[str | None] = mapped_column(String(500))  # or a link
    video_seconds: Mapped[int | None] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float, default=0.5)
    min_seconds: Mapped[int] = mapped_column(Integer, default=300)
    course: Mapped[Course] = relationship(back_populates="lessons")


class Enrolment(db.Model):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("course_id", "person_id", name="uq_enrolment_course_person"),
        CheckConstraint("status IN ('active','withdrawn','completed')", name="known_status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(12), default="self")
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    course: Mapped[Course] = relationship()
    person = relationship("Person")


class LessonProgress(db.Model):
    """What the server has seen of one learner on one lesson: active time, how far, when done."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "lesson_id", name="uq_lesson_progress_enrolment_lesson"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    active_seconds: Mapped[int] = mapped_column(Integer, default=0)
    last_beat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reached_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # Video: which 5-second slices were seen playing, as a string of 0/1.
    watched: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lesson: Mapped[Lesson] = relationship()


class TrainingRecord(db.Model):
    """One line of a person's training archive; never updated or deleted."""

    __tablename__ = "training_record"
    # Per-person totals for a period (coverage reports, yearly 学时) read only this index. PostgreSQL also keeps
    # the record id in it (SQLite always does): the id is what tells a corrected record apart.
    __table_args__ = (Index("ix_training_record_person_on", "person_id", "occurred_on", "hours",
                            postgresql_include=["id"]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    occurred_on: Mapped[dt.date] = mapped_column(Date, index=True)
    teacher: Mapped[str] = mapped_column(String(100), default="")
    result: Mapped[str] = mapped_column(String(100), default="")
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="SET NULL"))
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lesson.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("classroom_session.id", ondelete="SET NULL"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id", ondelete="SET NULL"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("training_record.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@event.listens_for(TrainingRecord, "before_update")
@event.listens_for(TrainingRecord, "before_delete")
def _records_are_history(mapper, connection, target):
    raise PermissionError("training records are never changed; add a correction instead")


class PersonYearHours(db.Model):
    """Per person and calendar year: the 学时 that count and how many records count.

    A record counts unless a later record corrects it (then the correction counts instead), as
    `service.current_records` reads the archive. Written only by the database: triggers on
    training_record (`YEAR_HOURS_DDL`) keep it in step with every insert, bulk imports included, so
    yearly totals for a million people are read as one row each instead of summed from their records.
    `records` 0 means no record counts (then the person has no 学时 that year, not 0 学时).
    """

    __tablename__ = "person_year_hours"
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hours: Mapped[float] = mapped_column(Float, default=0.0)
    records: Mapped[int] = mapped_column(Integer, default=0)


# The triggers keeping person_year_hours, row by row: a record adds its hours to its person's year; a
# correction also takes off the record it corrects, unless an earlier correction of that record already did.
YEAR_HOURS_DDL = {
    "sqlite": [
        """CREATE TRIGGER training_record_adds_year_hours AFTER INSERT ON training_record
BEGIN
  INSERT INTO person_year_hours (person_id, year, hours, records)
  VALUES (NEW.person_id, CAST(substr(NEW.occurred_on, 1, 4) AS INTEGER), NEW.hours, 1)
  ON CONFLICT (person_id, year) DO UPDATE SET hours = hours + excluded.hours, records = records + 1;
END""",
        """CREATE TRIGGER training_record_correction_year_hours AFTER INSERT ON training_record
WHEN NEW.corrects_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM training_record WHERE corrects_id = NEW.corrects_id AND id < NEW.id)
BEGIN
  UPDATE person_year_hours
     SET hours = hours - (SELECT hours FROM training_record WHERE id = NEW.corrects_id), records = records - 1
   WHERE person_id = (SELECT person_id FROM training_record WHERE id = NEW.corrects_id)
     AND year = (SELECT CAST(substr(occurred_on, 1, 4) AS INTEGER) FROM training_record WHERE id = NEW.corrects_id);
END""",
    ],
    # A row trigger: psycopg sends a bulk insert as one statement per row, for which a statement trigger
    # (with its transition table) doubled the time of loading 300,000 records.
    "postgresql": [
        """CREATE OR REPLACE FUNCTION training_record_year_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO person_year_hours AS t (person_id, year, hours, records)
  VALUES (NEW.person_id, EXTRACT(YEAR FROM NEW.occurred_on)::int, NEW.hours, 1)
  ON CONFLICT (person_id, year) DO UPDATE SET hours = t.hours + EXCLUDED.hours, records = t.records + 1;
  IF NEW.corrects_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM training_record WHERE corrects_id = NEW.corrects_id AND id < NEW.id) THEN
    UPDATE person_year_hours AS t SET hours = t.hours - r.hours, records = t.records - 1
      FROM training_record AS r
     WHERE r.id = NEW.corrects_id AND t.person_id = r.person_id AND t.year = EXTRACT(YEAR FROM r.occurred_on)::int;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER training_record_year_hours AFTER INSERT ON training_record
FOR EACH ROW EXECUTE FUNCTION training_record_year_hours()""",
    ],
}
YEAR_HOURS_DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS training_record_correction_year_hours",
               "DROP TRIGGER IF EXISTS training_record_adds_year_hours"],
    "postgresql": ["DROP TRIGGER IF EXISTS training_record_year_hours ON training_record",
                   "DROP FUNCTION IF EXISTS training_record_year_hours()"],
}


@event.listens_for(db.metadata, "after_create")
def _create_year_hours_triggers(metadata, connection, tables=(), **kw):
    """create_all (tests, `flask db` on a fresh file) gets the same triggers as the migration."""
    names = {t.name for t in tables} if tables else set(metadata.tables)
    if "training_record" in names and "person_year_hours" in names:
        for statement in YEAR_HOURS_DDL.get(connection.dialect.name, []):
            connection.exec_driver_sql(statement)


class ClassroomSession(TimestampMixin, db.Model):
    """A classroom training (线下集中培训) or a regulator's 跟班 session, with a sign-in QR window."""

    __tablename__ = "classroom_session"
    __table_args__ = (CheckConstraint("hours > 0", name="positive_hours"),
                      CheckConstraint("ends_at > starts_at", name="ends_after_start"))
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="classroom")  # classroom | shadowing
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    teacher: Mapped[str] = mapped_column(String(100), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    hours: Mapped[float] = mapped_column(Float)
    signin_token: Mapped[str] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class Attendance(db.Model):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_attendance_session_person"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("classroom_session.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10))  # qr | import | manual
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    person = relationship("Person")


class Requirement(db.Model):
    """A yearly 学时 rule (DOMAIN §4), editable, with its source."""

    __tablename__ = "training_requirement"
    __table_args__ = (CheckConstraint("kind IN ('initial','annual')", name="known_kind"),
                      UniqueConstraint("audience", "high_risk", "kind", name="uq_training_requirement_rule"))
    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(20))
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(10))  # initial (first year, or re-training) | annual
    hours: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300), default="")


class PersonEvent(db.Model):
    """Something that triggers re-training: a change of post, or a return after a year or more away."""

    __tablename__ = "person_event"
    __table_args__ = (CheckConstraint("kind IN ('post_change','return')", name="known_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class TrainingPlan(TimestampMixin, db.Model):
    """An annual training plan (年度培训计划) of an enterprise, or of a street and/or sector."""

    __tablename__ = "training_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    items: Mapped[list[TrainingPlanItem]] = relationship(back_populates="plan", cascade="all, delete-orphan",
                                                         order_by="TrainingPlanItem.month")


class TrainingPlanItem(db.Model):
    __tablename__ = "training_plan_item"
    __table_args__ = (CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
                      CheckConstraint("planned_headcount >= 0", name="headcount_nonnegative"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plan.id", ondelete="CASCADE"), index=True)
    month: Mapped[int] = mapped_column(Integer)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="SET NULL"))
    topic: Mapped[str] = mapped_column(String(200), default="")
    audience: Mapped[str] = mapped_column(String(20), default="")
    planned_headcount: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[TrainingPlan] = relationship(back_populates="items")
    course = relationship("Course")
