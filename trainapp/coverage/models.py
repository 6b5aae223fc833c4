"""Targets and settings of the coverage reports; both are data an admin edits, each target with its source."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from trainapp.extensions import db
from trainapp.models import TimestampMixin


class CoverageTarget(TimestampMixin, db.Model):
    """What share of a measure's population the plans expect covered, and by when."""

    __tablename__ = "coverage_target"
    __table_args__ = (CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(30), unique=True)
    percent: Mapped[float] = mapped_column(Float)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(300), default="")


class CoverageSetting(db.Model):
    """A named setting of the reports: the monthly report's due day, the key sectors, the reporting unit."""

    __tablename__ = "coverage_setting"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), default="")
