"""What each user may see. Every list, detail, export and form choice goes through here.

A scope is built from the user's role grants: each grant contributes the rows it
reaches (an AND of its street/sector/district/enterprise limits) and the grants are
ORed together. A user whose grants reach nothing gets a criterion that is always false,
never "everything".
"""
from __future__ import annotations

from flask import abort
from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.sql import ColumnElement

from trainapp.auth.models import RoleGrant, User
from trainapp.extensions import db
from trainapp.org.models import Agency, Enterprise, Person, Sector, Street, agency_sector

ORG_ROLES = ("admin", "manager", "enterprise_admin", "regulator")


def sector_family(sector_id: int) -> list[int]:
    """The sector and its sub-sectors (e.g. 工贸 and 粉尘涉爆)."""
    children = db.session.scalars(select(Sector.id).where(Sector.parent_id == sector_id)).all()
    return [sector_id, *children]


def _street_in_district(district_id: int):
    return select(Street.id).where(Street.district_id == district_id)


def _grant_criterion(g: RoleGrant, street_col, sector_col, ent_col) -> ColumnElement[bool] | None:
    """What one grant reaches, on any table that has street, sector and enterprise columns."""
    if g.role == "admin":
        return true()
    if g.role == "enterprise_admin":
        return ent_col == g.enterprise_id if (g.enterprise_id and ent_col is not None) else None
    if g.role not in ("manager", "regulator"):
        return None
    parts: list[ColumnElement[bool]] = []
    district_id, street_id, sector_ids = g.district_id, g.street_id, None
    if g.sector_id:
        sector_ids = sector_family(g.sector_id)
    if g.role == "regulator" and g.agency is not None:
        # A regulator reaches the sectors its agency supervises, in its agency's area.
        street_id = street_id or g.agency.street_id
        district_id = district_id or g.agency.district_id
        if sector_ids is None:
            sector_ids = [i for s in g.agency.sectors for i in sector_family(s.id)]
            if not sector_ids:
                return None
    if street_id:
        parts.append(street_col == street_id)
    elif district_id:
        parts.append(street_col.in_(_street_in_district(district_id)))
    if sector_ids is not None:
        parts.append(sector_col.in_(sector_ids))
    if not parts:
        # A grant with no limits reaches nothing: district-wide must be said explicitly.
        return None
    return and_(*parts)


def scoped(user: User, street_col, sector_col, ent_col=None, roles=None) -> ColumnElement[bool]:
    """OR of what each of the user's grants (of `roles`, default all) reaches; false when nothing."""
    grants = [g for g in user.grants if roles is None or g.role in roles]
    crits = [c for g in grants if (c := _grant_criterion(g, street_col, sector_col, ent_col)) is not None]
    if not crits:
        return false()
    return or_(*crits) if len(crits) > 1 else crits[0]


def enterprise_criterion(user: User, roles=None) -> ColumnElement[bool]:
    """Criterion on Enterprise for the rows `user` may see (through grants of `roles`)."""
    return scoped(user, Enterprise.street_id, Enterprise.sector_id, Enterprise.id, roles)


EDIT_ROLES = ("admin", "manager", "enterprise_admin")


def may_edit_enterprise(user: User, enterprise_id: int) -> bool:
    """Whether the user administers this enterprise's records (regulators only read)."""
    return db.session.scalar(select(Enterprise.id).where(
        Enterprise.id == enterprise_id, enterprise_criterion(user, EDIT_ROLES))) is not None


def _grant_agency_criterion(g: RoleGrant) -> ColumnElement[bool] | None:
    if g.role == "admin":
        return true()
    if g.role != "manager":
        return None
    if g.street_id:
        crit = Agency.street_id == g.street_id
    elif g.district_id:
        crit = Agency.district_id == g.district_id
    else:
        crit = None
    if g.sector_id:
        sup = Agency.id.in_(select(agency_sector.c.agency_id).where(
            agency_sector.c.sector_id.in_(sector_family(g.sector_id))))
        crit = sup if crit is None else crit & sup
    return crit


def person_criterion(user: User) -> ColumnElement[bool]:
    """Criterion on Person: staff of enterprises in scope, and agency staff for managers."""
    ent = Person.enterprise_id.in_(select(Enterprise.id).where(enterprise_criterion(user)))
    agency_crits = [c for g in user.grants if (c := _grant_agency_criterion(g)) is not None]
    if not agency_crits:
        return ent
    agencies = select(Agency.id).where(or_(*agency_crits))
    return or_(ent, Person.agency_id.in_(agencies))


def street_criterion(user: User) -> ColumnElement[bool]:
    """Streets the user may pick in forms and filters."""
    if user.has_role("admin"):
        return true()
    crits = []
    for g in user.grants:
        if g.role in ("manager", "regulator"):
            sid = g.street_id or (g.agency.street_id if g.agency else None)
            did = g.district_id or (g.agency.district_id if g.agency else None)
            if sid:
                crits.append(Street.id == sid)
            elif did:
                crits.append(Street.district_id == did)
            elif g.sector_id:
                crits.append(true())
        elif g.role == "enterprise_admin" and g.enterprise_id:
            crits.append(Street.id.in_(select(Enterprise.street_id).where(Enterprise.id == g.enterprise_id)))
    return or_(*crits) if crits else false()


def get_enterprise(enterprise_id: int, user: User) -> Enterprise:
    """Return the enterprise if `user` may see it; otherwise abort with 404 (never reveal it exists)."""
    ent = db.session.scalar(
        select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_criterion(user)))
    if ent is None:
        abort(404)
    return ent


def get_person(person_id: int, user: User) -> Person:
    """Return the person if `user` may see them (or it is the user); otherwise abort with 404."""
    if user.person_id == person_id:
        return db.session.get(Person, person_id)
    person = db.session.scalar(select(Person).where(Person.id == person_id, person_criterion(user)))
    if person is None:
        abort(404)
    return person


def administered_enterprise_ids(user: User) -> list[int]:
    """Enterprises this user is an enterprise admin of."""
    return [g.enterprise_id for g in user.grants if g.role == "enterprise_admin" and g.enterprise_id]
