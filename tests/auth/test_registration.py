"""Self-registration on first sign-in (seed 000 附件2 四(三)4) and its approval."""
from sqlalchemy import select

from trainapp.auth.models import Registration, User
from trainapp.org.models import Enterprise, Person
from tests import factories
from tests.conftest import csrf_from, post_form

MOBILE = "13612345678"


def _signup(client, mobile=MOBILE):
    token = csrf_from(client.get("/auth/signup").text)
    return client.post("/auth/signup", data={"mobile": mobile, "password": "Secret-123", "confirm": "Secret-123",
                                             "csrf_token": token})


def _profile(client, world, **overrides):
    data = {"name": "新学员", "street_id": world.street_a.id, "unit": world.ent_a1.name,
            "audience": "staff", "employment_type": "dispatched", "new_unit_sector_id": 0}
    data.update(overrides)
    return post_form(client, "/auth/profile", data, page_url="/auth/profile")


def test_new_learner_must_complete_profile_first(world, client):
    assert _signup(client).headers["Location"].endswith("/auth/profile")
    assert client.get("/home").headers["Location"].endswith("/auth/profile")
    page = client.get("/auth/profile").text
    assert "所属街道" in page and "单位名称" in page


def test_signup_rejects_bad_and_duplicate_mobile(world, client):
    assert "手机号应为11位" in _signup(client, "12345").text
    assert "该手机号已注册" in _signup(client, world.users["learner"].mobile).text


def test_join_existing_unit_then_enterprise_admin_approves(world, app, client, login, db):
    _signup(client)
    resp = _profile(client, world)
    assert resp.status_code == 302
    assert "等待" in client.get("/home").text
    reg = db.session.scalar(select(Registration))
    assert reg.status == "pending" and reg.enterprise_id == world.ent_a1.id
    person = db.session.get(Person, reg.person_id)
    assert person.enterprise_id is None  # not in the unit until approved

    admin_b = app.test_client()
    admin_b_login = admin_b.get("/auth/login")
    admin_b.post("/auth/login", data={"login": "entadmin_b1", "password": factories.PASSWORD,
                                      "csrf_token": csrf_from(admin_b_login.text)})
    assert "新学员" not in admin_b.get("/org/registrations").text
    assert post_form(admin_b, f"/org/registrations/{reg.id}", {"approve": "1"}).status_code == 404

    approver = app.test_client()
    page = approver.get("/auth/login")
    approver.post("/auth/login", data={"login": "entadmin_a1", "password": factories.PASSWORD,
                                       "csrf_token": csrf_from(page.text)})
    assert "新学员" in approver.get("/org/registrations").text
    assert post_form(approver, f"/org/registrations/{reg.id}", {"approve": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, reg.person_id).enterprise_id == world.ent_a1.id
    assert db.session.get(Registration, reg.id).status == "approved"


def test_partial_name_offers_candidates(world, client, db):
    _signup(client)
    resp = _profile(client, world, unit="甲街道")
    assert resp.status_code == 200
    assert world.ent_a1.name in resp.text and world.ent_a2.name in resp.text
    assert world.ent_b1.name not in resp.text  # another street
    resp = _profile(client, world, unit="甲街道", enterprise_id=world.ent_a2.id)
    assert resp.status_code == 302
    assert db.session.scalar(select(Registration)).enterprise_id == world.ent_a2.id


def test_unknown_unit_asks_to_request_a_new_one(world, client, db):
    _signup(client)
    resp = _profile(client, world, unit="不存在的公司")
    assert "名录中未找到该单位" in resp.text
    resp = _profile(client, world, unit="不存在的公司", new_unit="y", new_unit_credit_code="91310000ABCDEFGHIJ")
    assert "校验位" in resp.text or "无效字符" in resp.text
    assert db.session.scalar(select(Registration)) is None
    code = factories.credit_code()
    resp = _profile(client, world, unit="新开的公司", new_unit="y", new_unit_credit_code=code,
                    new_unit_sector_id=world.chem.id)
    assert resp.status_code == 302
    reg = db.session.scalar(select(Registration))
    assert reg.enterprise_id is None and reg.new_unit_credit_code == code


def test_manager_approves_new_unit_in_own_street_only(world, app, client, login, db):
    _signup(client)
    code = factories.credit_code()
    _profile(client, world, unit="新开的公司", new_unit="y", new_unit_credit_code=code,
             new_unit_sector_id=world.chem.id)
    reg = db.session.scalar(select(Registration))
    other = app.test_client()
    other.post("/auth/login", data={"login": "manager_b", "password": factories.PASSWORD,
                                    "csrf_token": csrf_from(other.get("/auth/login").text)})
    assert post_form(other, f"/org/registrations/{reg.id}", {"approve": "1"}).status_code == 404
    mgr = app.test_client()
    mgr.post("/auth/login", data={"login": "manager_a", "password": factories.PASSWORD,
                                  "csrf_token": csrf_from(mgr.get("/auth/login").text)})
    # Rejecting needs a reason.
    resp = post_form(mgr, f"/org/registrations/{reg.id}", {"reject": "1", "note": ""}, follow_redirects=True)
    assert "驳回时请填写原因" in resp.text
    assert post_form(mgr, f"/org/registrations/{reg.id}", {"approve": "1"}).status_code == 302
    db.session.expire_all()
    ent = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    assert ent is not None and ent.street_id == world.street_a.id and ent.sector_id == world.chem.id
    assert db.session.get(Person, reg.person_id).enterprise_id == ent.id


def test_imported_staff_are_linked_without_approval(world, client, db):
    imported = world.staff_a1
    _signup(client, imported.mobile)
    resp = _profile(client, world, name=imported.name)
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.mobile == imported.mobile))
    assert user.person_id == imported.id
    assert db.session.scalar(select(Registration)) is None


def test_imported_mobile_with_another_name_is_refused(world, client, db):
    _signup(client, world.staff_a1.mobile)
    resp = _profile(client, world, name="冒名者")
    assert "其他姓名" in resp.text
    assert db.session.scalar(select(User).where(User.mobile == world.staff_a1.mobile)).person_id is None
