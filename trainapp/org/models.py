"""Organisations and people: districts, streets, sectors, enterprises, agencies, persons."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import TimestampMixin

# Audience codes (DOMAIN §1) and employment types; labels live in trainapp.org.labels.
AUDIENCES = (
    "leader", "committee", "regulator", "park_staff",
    "principal", "safety_manager", "special_worker", "staff",
)
EMPLOYMENT_TYPES = ("regular", "dispatched", "flexible", "outsourced")
PERSON_STATUSES = ("active", "left")


class District(db.Model):
    __tablename__ = "district"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    streets: Mapped[list[Street]] = relationship(back_populates="district", order_by="Street.name")


class Street(db.Model):
    """A street (街道) or town (镇); every enterprise and agency belongs to one."""

    __tablename__ = "street"
    __table_args__ = (UniqueConstraint("district_id", "name", name="uq_street_district_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10), default="street")  # street | town
    district: Mapped[District] = relationship(back_populates="streets")


class Sector(db.Model):
    """A sector (行业领域); data, not an enum, so districts can add their own."""

    __tablename__ = "sector"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"), index=True)
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    parent: Mapped[Sector | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Sector]] = relationship(back_populates="parent")

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Enterprise(TimestampMixin, db.Model):
    """A business unit (生产经营单位), identified by its unified social credit code."""

    __tablename__ = "enterprise"
    __table_args__ = (CheckConstraint("headcount >= 0", name="headcount_nonnegative"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sector.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    crowded_venue: Mapped[bool] = mapped_column(Boolean, default=False)
    fire_key_unit: Mapped[bool] = mapped_column(Boolean, default=False)
    factory_in_factory: Mapped[bool] = mapped_column(Boolean, default=False)
    key_enterprise: Mapped[bool] = mapped_column(Boolean, default=False)
    headcount: Mapped[int] = mapped_column(Integer, default=0)
    street: Mapped[Street] = relationship()
    sector: Mapped[Sector] = relationship()
    departments: Mapped[list[Department]] = relationship(
        back_populates="enterprise", order_by="Department.name"
    )

    FLAGS = ("high_risk", "crowded_venue", "fire_key_unit", "factory_in_factory", "key_enterprise")


agency_sector = Table(
    "agency_sector",
    db.metadata,
    Column("agency_id", ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sector.id", ondelete="CASCADE"), primary_key=True),
)


class Agency(db.Model):
    """A government unit (政府部门 / 安委会成员单位) and the sectors it supervises."""

    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    # A street-level office; None for a district-level department.
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    district: Mapped[District] = relationship()
    street: Mapped[Street | None] = relationship()
    sectors: Mapped[list[Sector]] = relationship(secondary=agency_sector, order_by="Sector.id")


class Department(db.Model):
    """A department, workshop or team (科室/车间/班组) inside an enterprise."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("enterprise_id", "name", name="uq_department_enterprise_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    enterprise: Mapped[Enterprise] = relationship(back_populates="departments")


class Person(TimestampMixin, db.Model):
    """Someone who is trained: staff of an enterprise or of an agency."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint(
            "NOT (enterprise_id IS NOT NULL AND agency_id IS NOT NULL)", name="one_employer"
        ),
        # Coverage counts one audience of each enterprise (its principals, its special workers…).
        Index("ix_person_enterprise_audience", "enterprise_id", "audience", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    id_number: Mapped[str | None] = mapped_column(String(18))
    audience: Mapped[str] = mapped_column(String(20), default="staff", index=True)
    employment_type: Mapped[str] = mapped_column(String(20), default="regular")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    enterprise: Mapped[Enterprise | None] = relationship()
    agency: Mapped[Agency | None] = relationship()
    department: Mapped[Department | None] = relationship()

    @property
    def id_number_masked(self) -> str:
        from trainapp.org.validators import mask_id_number

        return mask_id_number(self.id_number)

    @property
    def unit_name(self) -> str:
        if self.enterprise is not None:
            return self.enterprise.name
        if self.agency is not None:
            return self.agency.name
        return ""
