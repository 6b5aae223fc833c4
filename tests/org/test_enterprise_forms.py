"""Enterprise and person forms: field-level errors, never a 500; audit entries."""
from sqlalchemy import select

from trainapp.audit import AuditEvent
from trainapp.org.models import Enterprise, Person
from tests import factories
from tests.conftest import post_form


def _ent_data(world, **kw):
    data = {"name": "新建单位", "credit_code": factories.credit_code(), "street_id": world.street_a.id,
            "sector_id": world.chem.id, "headcount": 12, "high_risk": "y"}
    data.update(kw)
    return data


def test_manager_creates_enterprise_and_it_is_audited(world, client, login, db):
    login("manager_a")
    data = _ent_data(world)
    resp = post_form(client, "/org/enterprises/new", data, page_url="/org/enterprises/new")
    assert resp.status_code == 302
    ent = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == data["credit_code"]))
    assert ent.high_risk and not ent.crowded_venue and ent.headcount == 12
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "enterprise",
                                                    AuditEvent.entity_id == ent.id))
    assert ev.action == "create" and ev.actor_id == world.users["manager_a"].id


def test_bad_fields_are_reported_by_field(world, client, login, db):
    login("manager_a")
    resp = post_form(client, "/org/enterprises/new",
                     _ent_data(world, credit_code="91310000ABCDEFGH12", headcount="-3", name=""),
                     page_url="/org/enterprises/new")
    assert resp.status_code == 200
    assert "无效字符" in resp.text or "校验位" in resp.text
    assert "invalid-feedback" in resp.text
    dup = _ent_data(world, credit_code=world.ent_b1.credit_code)
    assert "已登记" in post_form(client, "/org/enterprises/new", dup, page_url="/org/enterprises/new").text


def test_unknown_street_is_a_field_error(world, client, login, db):
    login("manager_a")
    resp = post_form(client, "/org/enterprises/new", _ent_data(world, street_id=world.street_b.id),
                     page_url="/org/enterprises/new")
    assert resp.status_code == 200 and "Not a valid choice" in resp.text or "不是有效" in resp.text
    resp = post_form(client, "/org/enterprises/new", _ent_data(world, street_id="abc"),
                     page_url="/org/enterprises/new")
    assert resp.status_code == 200


def test_enterprise_admin_adds_person_with_duplicate_mobile_refused(world, client, login, db):
    login("entadmin_a1")
    url = f"/org/enterprises/{world.ent_a1.id}/people/new"
    base = {"name": "王五", "audience": "staff", "employment_type": "regular", "department_id": 0, "status": "active"}
    resp = post_form(client, url, {**base, "mobile": world.staff_b1.mobile}, page_url=url)
    assert "该手机号已登记" in resp.text
    resp = post_form(client, url, {**base, "mobile": "13700009999", "id_number": "11010519491231002X"}, page_url=url)
    assert resp.status_code == 302
    p = db.session.scalar(select(Person).where(Person.mobile == "13700009999"))
    assert p.enterprise_id == world.ent_a1.id
    page = client.get(f"/org/people/{p.id}").text
    assert "110***********002X" in page and "11010519491231002X" not in page


def test_regulator_reads_but_cannot_edit(world, client, login):
    login("regulator")
    page = client.get(f"/org/enterprises/{world.ent_a1.id}")
    assert page.status_code == 200 and "批量导入" not in page.text
    assert client.get(f"/org/enterprises/{world.ent_a1.id}/edit").status_code == 403


def test_enterprise_admin_adds_department(world, client, login, db):
    login("entadmin_a1")
    url = f"/org/enterprises/{world.ent_a1.id}/departments"
    post_form(client, url, {"name": "二车间"}, page_url=f"/org/enterprises/{world.ent_a1.id}")
    page = client.get(f"/org/enterprises/{world.ent_a1.id}").text
    assert "二车间" in page
    resp = post_form(client, url, {"name": "二车间"}, page_url=f"/org/enterprises/{world.ent_a1.id}",
                     follow_redirects=True)
    assert "已存在" in resp.text
