"""Admin pages: accounts, role grants with scope, streets, sectors; the append-only audit log."""
import pytest
from sqlalchemy import select

from trainapp.audit import AuditEvent
from trainapp.auth.models import RoleGrant, User
from trainapp.org.models import Sector, Street
from tests.conftest import post_form


def test_admin_creates_account_and_grants_scoped_roles(world, client, login, db):
    login("admin")
    resp = post_form(client, "/admin/users", {"username": "newmgr", "display_name": "新管理员"},
                     page_url="/admin/users")
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "newmgr"))
    assert user.must_change_password
    url = f"/admin/users/{user.id}"
    resp = post_form(client, url, {"role": "manager", "district_id": 0, "street_id": 0, "sector_id": 0,
                                   "agency_id": 0}, page_url=url)
    assert "须指定范围" in resp.text
    resp = post_form(client, url, {"role": "enterprise_admin", "district_id": 0, "street_id": 0, "sector_id": 0,
                                   "agency_id": 0, "enterprise_code": world.ent_b1.credit_code}, page_url=url)
    assert resp.status_code == 302
    post_form(client, url, {"role": "manager", "street_id": world.street_a.id, "district_id": 0, "sector_id": 0,
                            "agency_id": 0}, page_url=url)
    db.session.expire_all()
    grants = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
    assert {(g.role, g.enterprise_id, g.street_id) for g in grants} == {
        ("enterprise_admin", world.ent_b1.id, None), ("manager", None, world.street_a.id)}
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == user.id)))
    assert {"create", "grant_role"} <= actions


def test_duplicate_username_is_a_field_error(world, client, login):
    login("admin")
    resp = post_form(client, "/admin/users", {"username": "manager_a", "display_name": "x"}, page_url="/admin/users")
    assert resp.status_code == 400 and "已被其他账号使用" in resp.text


def test_admin_cannot_revoke_own_admin(world, client, login, db):
    login("admin")
    admin = world.users["admin"]
    grant = admin.grants[0]
    post_form(client, f"/admin/users/{admin.id}/grants/{grant.id}/revoke", {})
    db.session.expire_all()
    assert db.session.get(RoleGrant, grant.id) is not None


def test_streets_and_sectors_are_data(world, client, login, db):
    login("admin")
    post_form(client, "/admin/streets", {"district_id": world.district.id, "name": "丙街道", "kind": "street"},
              page_url="/admin/streets")
    assert db.session.scalar(select(Street).where(Street.name == "丙街道")) is not None
    resp = post_form(client, "/admin/sectors", {"code": "Bad Code", "name": "x", "parent_id": 0},
                     page_url="/admin/sectors")
    assert "小写字母" in resp.text
    post_form(client, "/admin/sectors", {"code": "warehousing", "name": "仓储", "parent_id": world.trade.id},
              page_url="/admin/sectors")
    assert db.session.scalar(select(Sector).where(Sector.code == "warehousing")).parent_id == world.trade.id


def test_audit_log_is_append_only(world, db):
    from trainapp.audit import record

    ev = record("test", world.ent_a1, summary="x")
    db.session.commit()
    ev.summary = "tampered"
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(PermissionError):
        db.session.delete(db.session.get(AuditEvent, ev.id))
        db.session.commit()
    db.session.rollback()


def test_audit_page_filters(world, client, login, db):
    login("admin")
    post_form(client, "/admin/streets", {"district_id": world.district.id, "name": "丁街道", "kind": "street"},
              page_url="/admin/streets")
    page = client.get("/admin/audit?entity=street").text
    assert "丁街道" in page
    assert "丁街道" not in client.get("/admin/audit?entity=enterprise").text
    assert client.get("/admin/audit?since=not-a-date").status_code == 200
