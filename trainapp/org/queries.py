"""Read helpers for organisations and people, always scoped to the viewer."""
from __future__ import annotations

from sqlalchemy import Select, and_, or_, select

from trainapp.auth.models import Registration, User
from trainapp.auth.scope import enterprise_criterion, person_criterion, scoped
from trainapp.org.models import Enterprise, Person


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def enterprises(user: User, q: str = "", street_id: int | None = None, sector_id: int | None = None,
                flag: str | None = None) -> Select:
    stmt = select(Enterprise).where(enterprise_criterion(user))
    if q:
        stmt = stmt.where(or_(Enterprise.name.like(_like(q), escape="\\"),
                              Enterprise.credit_code == q.strip().upper()))
    if street_id:
        stmt = stmt.where(Enterprise.street_id == street_id)
    if sector_id:
        stmt = stmt.where(Enterprise.sector_id == sector_id)
    if flag in Enterprise.FLAGS:
        stmt = stmt.where(getattr(Enterprise, flag).is_(True))
    return stmt.order_by(Enterprise.name, Enterprise.id)


def people(user: User, q: str = "", enterprise_id: int | None = None, audience: str | None = None,
           employment_type: str | None = None, status: str | None = None) -> Select:
    stmt = select(Person).where(person_criterion(user))
    if q:
        stmt = stmt.where(or_(Person.name.like(_like(q), escape="\\"), Person.mobile == q.strip()))
    if enterprise_id:
        stmt = stmt.where(Person.enterprise_id == enterprise_id)
    if audience:
        stmt = stmt.where(Person.audience == audience)
    if employment_type:
        stmt = stmt.where(Person.employment_type == employment_type)
    if status:
        stmt = stmt.where(Person.status == status)
    return stmt.order_by(Person.name, Person.id)


def registration_criterion(user: User):
    """Registrations the user may decide: for units in scope, or new units in their area."""
    existing = Registration.enterprise_id.in_(select(Enterprise.id).where(enterprise_criterion(user)))
    new_unit = and_(Registration.enterprise_id.is_(None),
                    scoped(user, Registration.street_id, Registration.new_unit_sector_id))
    return or_(existing, new_unit)


def pending_registrations(user: User) -> Select:
    return (select(Registration)
            .where(Registration.status == "pending", registration_criterion(user))
            .order_by(Registration.created_at, Registration.id))
