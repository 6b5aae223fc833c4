"""State changes for accounts and registrations. Flush, never commit."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from trainapp.audit import record
from trainapp.auth.models import Registration, RoleGrant, User
from trainapp.extensions import db
from trainapp.org.models import Enterprise, Person
from trainapp.org.validators import normalise_credit_code


def find_user(login: str) -> User | None:
    """The account whose mobile or username is `login`."""
    login = login.strip()
    return db.session.scalar(select(User).where(or_(User.mobile == login, User.username == login)))


def create_learner(mobile: str, password: str) -> User:
    user = User(mobile=mobile.strip())
    user.set_password(password)
    user.grants.append(RoleGrant(role="learner"))
    db.session.add(user)
    db.session.flush()
    record("signup", user, summary=user.mobile, actor=user)
    return user


def match_units(street_id: int, text: str, limit: int = 20) -> list[Enterprise]:
    """Enterprises of a street whose credit code is `text` or whose name contains it."""
    text = text.strip()
    code = normalise_credit_code(text)
    exact = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    if exact is not None:
        return [exact]
    by_name = db.session.scalars(
        select(Enterprise).where(Enterprise.street_id == street_id, Enterprise.name == text)).all()
    if by_name:
        return list(by_name)
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(db.session.scalars(
        select(Enterprise)
        .where(Enterprise.street_id == street_id, Enterprise.name.like(like, escape="\\"))
        .order_by(func.length(Enterprise.name), Enterprise.name).limit(limit)))


def register_profile(user: User, *, name: str, street_id: int, audience: str, employment_type: str,
                     id_number: str | None, enterprise: Enterprise | None,
                     new_unit: dict | None) -> Registration | None:
    """Create the learner's Person and a pending request to join a unit.

    If the enterprise admin already imported a person with this mobile and name, the
    account is linked to them directly: the unit has vouched for them already.
    """
    existing = db.session.scalar(select(Person).where(Person.mobile == user.mobile))
    if existing is not None:
        user.person = existing
        record("link_person", user, summary=existing.name, actor=user, person_id=existing.id)
        return None
    person = Person(name=name.strip(), mobile=user.mobile, audience=audience,
                    employment_type=employment_type, id_number=(id_number or None))
    db.session.add(person)
    user.person = person
    reg = Registration(user=user, person=person, street_id=street_id,
                       enterprise_id=enterprise.id if enterprise else None)
    if new_unit:
        reg.new_unit_name = new_unit["name"]
        reg.new_unit_credit_code = normalise_credit_code(new_unit["credit_code"])
        reg.new_unit_sector_id = new_unit["sector_id"]
    db.session.add(reg)
    db.session.flush()
    record("register", reg, summary=f"{person.name} → {enterprise.name if enterprise else reg.new_unit_name}",
           actor=user)
    return reg


def approve_registration(reg: Registration, by: User) -> Enterprise:
    """Attach the person to the unit, creating a requested new unit first."""
    ent = reg.enterprise
    if ent is None:
        ent = Enterprise(credit_code=reg.new_unit_credit_code, name=reg.new_unit_name,
                         street_id=reg.street_id, sector_id=reg.new_unit_sector_id)
        db.session.add(ent)
        db.session.flush()
        record("create", ent, summary=ent.name, actor=by, via_registration=reg.id)
        reg.enterprise = ent
    reg.person.enterprise_id = ent.id
    reg.person.agency_id = None
    reg.decide(by, "approved")
    record("approve", reg, summary=f"{reg.person.name} → {ent.name}", actor=by)
    return ent


def reject_registration(reg: Registration, by: User, note: str) -> None:
    reg.decide(by, "rejected", note)
    record("reject", reg, summary=reg.person.name, actor=by, note=note)
