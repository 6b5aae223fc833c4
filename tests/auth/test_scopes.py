"""The role/scope matrix: every role asks for every enterprise's and person's URLs directly."""
import pytest

from tests.conftest import post_form

# Which of the world's enterprises each role may see.
VISIBLE = {
    "admin": {"a1", "a2", "b1"},
    "manager_a": {"a1", "a2"},
    "manager_b": {"b1"},
    "manager_trade": {"a1", "b1"},  # 工贸 includes its sub-sector 粉尘涉爆
    "manager_district": {"a1", "a2", "b1"},
    "entadmin_a1": {"a1"},
    "entadmin_b1": {"b1"},
    "regulator": {"a1", "b1"},  # the agency supervises 工贸 district-wide
}
NO_ORG_ACCESS = ("trainer", "learner")
EDITORS = {"admin", "manager_a", "manager_b", "manager_trade", "manager_district", "entadmin_a1", "entadmin_b1"}


def _ents(world):
    return {"a1": world.ent_a1, "a2": world.ent_a2, "b1": world.ent_b1}


def _staff(world):
    return {"a1": world.staff_a1, "a2": world.staff_a2, "b1": world.staff_b1}


def _sign_in(world, login, role):
    u = world.users[role]
    resp = login(u.username or u.mobile)
    assert resp.status_code == 302


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_enterprise_list_and_details_are_scoped(world, client, login, role):
    _sign_in(world, login, role)
    listing = client.get("/org/enterprises").text
    for key, ent in _ents(world).items():
        assert (ent.name in listing) == (key in VISIBLE[role]), (role, key)
        status = client.get(f"/org/enterprises/{ent.id}").status_code
        assert status == (200 if key in VISIBLE[role] else 404), (role, key)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_people_list_and_details_are_scoped(world, client, login, role):
    _sign_in(world, login, role)
    listing = client.get("/org/people").text
    for key, person in _staff(world).items():
        assert (person.name in listing) == (key in VISIBLE[role]), (role, key)
        status = client.get(f"/org/people/{person.id}").status_code
        assert status == (200 if key in VISIBLE[role] else 404), (role, key)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_filtering_by_an_enterprise_out_of_scope_is_404(world, client, login, role):
    _sign_in(world, login, role)
    for key, ent in _ents(world).items():
        status = client.get(f"/org/people?enterprise={ent.id}").status_code
        assert status == (200 if key in VISIBLE[role] else 404)


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_edit_and_import_urls_are_scoped(world, client, login, role):
    _sign_in(world, login, role)
    for key, ent in _ents(world).items():
        for url in (f"/org/enterprises/{ent.id}/import", f"/org/enterprises/{ent.id}/people/new",
                    f"/org/people/{_staff(world)[key].id}/edit"):
            status = client.get(url).status_code
            if role not in EDITORS:
                assert status == 403, (role, url)  # refused before any lookup
            else:
                assert status == (200 if key in VISIBLE[role] else 404), (role, url)


@pytest.mark.parametrize("role", NO_ORG_ACCESS)
def test_roles_without_org_access_get_403(world, client, login, role):
    _sign_in(world, login, role)
    for url in ("/org/enterprises", "/org/people", f"/org/enterprises/{world.ent_a1.id}",
                f"/org/people/{world.staff_a1.id}", "/admin/users", "/admin/audit", "/org/registrations"):
        assert client.get(url).status_code == 403, (role, url)


@pytest.mark.parametrize("role", sorted(set(VISIBLE) - {"admin"}))
def test_admin_pages_are_admin_only(world, client, login, role):
    _sign_in(world, login, role)
    for url in ("/admin/users", f"/admin/users/{world.users['admin'].id}", "/admin/audit",
                "/admin/streets", "/admin/sectors"):
        assert client.get(url).status_code == 403


def test_street_choices_in_forms_are_scoped(world, client, login):
    _sign_in(world, login, "manager_a")
    page = client.get("/org/enterprises/new").text
    assert world.street_a.name in page
    assert world.street_b.name not in page


def test_manager_cannot_move_an_enterprise_out_of_scope(world, client, login, db):
    _sign_in(world, login, "manager_trade")
    ent = world.ent_b1
    resp = post_form(client, f"/org/enterprises/{ent.id}/edit", {
        "name": ent.name, "credit_code": ent.credit_code, "street_id": ent.street_id,
        "sector_id": world.chem.id, "headcount": 5}, page_url=f"/org/enterprises/{ent.id}/edit")
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(type(ent), ent.id).sector_id == world.trade.id


def test_anonymous_is_sent_to_sign_in(world, client):
    for url in ("/home", "/org/enterprises", "/admin/users"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
