"""Accounts, role grants with their scope, and self-registration requests."""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from trainapp.extensions import db
from trainapp.models import TimestampMixin, utcnow
from trainapp.org.models import Agency, Enterprise, Person, Sector, Street

ROLES = ("admin", "manager", "trainer", "enterprise_admin", "regulator", "learner")
REGISTRATION_STATUSES = ("pending", "approved", "rejected")


class User(UserMixin, TimestampMixin, db.Model):
    """A sign-in account; linked to the Person it belongs to once registration is done."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("username IS NOT NULL OR mobile IS NOT NULL", name="has_login"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(40), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(50), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), unique=True)
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on password change so sessions signed in with the old password end.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    person: Mapped[Person | None] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoleGrant.id"
    )

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def name(self) -> str:
        if self.person is not None:
            return self.person.name
        return self.display_name or self.username or self.mobile or ""

    @property
    def needs_profile(self) -> bool:
        """A learner without a Person must fill in the first-sign-in profile."""
        return self.person_id is None and self.roles <= {"learner"}


class RoleGrant(db.Model):
    """One role held by a user, with the scope it applies to.

    Scope columns left empty mean "not restricted on that axis"; a manager grant with
    a street and a sector is limited to that sector inside that street.
    """

    __tablename__ = "role_grant"
    __table_args__ = (CheckConstraint(
        "role IN ('admin','manager','trainer','enterprise_admin','regulator','learner')",
        name="known_role",
    ),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    user: Mapped[User] = relationship(back_populates="grants")
    street: Mapped[Street | None] = relationship()
    sector: Mapped[Sector | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    agency: Mapped[Agency | None] = relationship()


class Registration(TimestampMixin, db.Model):
    """A learner's request to join a unit (or to have a new unit added)."""

    __tablename__ = "registration"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    new_unit_name: Mapped[str | None] = mapped_column(String(120))
    new_unit_credit_code: Mapped[str | None] = mapped_column(String(18))
    new_unit_sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    person: Mapped[Person] = relationship()
    street: Mapped[Street] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    new_unit_sector: Mapped[Sector | None] = relationship()

    def decide(self, user: User, status: str, note: str = "") -> None:
        self.status = status
        self.decided_by_id = user.id
        self.decided_at = utcnow()
        self.note = note
