"""Who may start, run and see spot checks: inspectors (regulators, managers) within their scope only."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form
from tests.spotchecks.helpers import make_check, standard_bank
from trainapp.spotchecks.models import SpotCheck


@pytest.mark.parametrize("user,ent,code", [
    ("manager_a", "ent_a1", 200), ("manager_a", "ent_a2", 200), ("manager_a", "ent_b1", 404),
    ("manager_b", "ent_a1", 404), ("manager_b", "ent_b1", 200),
    ("manager_trade", "ent_a1", 200), ("manager_trade", "ent_a2", 404),  # 粉尘 is under 工贸; 危化 is not
    ("regulator", "ent_b1", 200), ("regulator", "ent_a2", 404),  # the agency supervises 工贸 only
    ("admin", "ent_a2", 200),
    ("entadmin_a1", "ent_a1", 403), ("trainer", "ent_a1", 403), ("learner", "ent_a1", 403),
])
def test_who_may_open_the_start_form(world, client, login, user, ent, code):
    assert login(world.users[user].username or world.users[user].mobile).status_code == 302
    resp = client.get(f"/spotchecks/new?enterprise={getattr(world, ent).id}")
    assert resp.status_code == code


def test_starting_out_of_scope_creates_nothing(world, client, login):
    standard_bank(world)
    login("manager_b")
    resp = post_form(client, f"/spotchecks/new?enterprise={world.ent_a1.id}",
                     {"paper": "std", "count": 3, "minutes": 30})
    assert resp.status_code == 404
    assert client.application.extensions["sqlalchemy"].session.scalar(select(func.count(SpotCheck.id))) == 0


def test_enterprise_search_lists_only_units_in_scope(world, client, login):
    login("manager_a")
    page = client.get("/spotchecks/new?q=企业").text
    assert "甲街道粉尘企业" in page and "甲街道化工企业" in page
    assert "乙镇机械企业" not in page


def test_detail_and_results_are_scoped(world, client, login):
    check_a = make_check(world, world.ent_a1)
    check_b = make_check(world, world.ent_b1, bank=standard_bank(world, "另一个题库"), by=world.users["manager_b"])
    login("manager_a")
    assert client.get(f"/spotchecks/{check_a.id}").status_code == 200
    assert client.get(f"/spotchecks/{check_b.id}").status_code == 404
    assert client.get(f"/spotchecks/{check_b.id}/live").status_code == 404
    listing = client.get("/spotchecks/").text
    assert f"/spotchecks/{check_a.id}" in listing and f"/spotchecks/{check_b.id}" not in listing
    assert post_form(client, f"/spotchecks/{check_b.id}/close", {}).status_code == 404
    assert post_form(client, f"/spotchecks/{check_b.id}/oral", {"question": "x", "quality": "good"}).status_code == 404


def test_enterprise_admin_sees_own_results_but_runs_nothing(world, client, login):
    check = make_check(world, world.ent_a1)
    other = make_check(world, world.ent_b1, bank=standard_bank(world, "另一个题库"))
    login("entadmin_a1")
    page = client.get(f"/spotchecks/{check.id}")
    assert page.status_code == 200
    assert 'id="spot-qr"' not in page.text and check.token not in page.text  # no QR, no link to answer
    assert 'id="oral-form"' not in page.text
    assert client.get(f"/spotchecks/{other.id}").status_code == 404
    assert post_form(client, f"/spotchecks/{check.id}/close", {}).status_code == 403
    assert client.get(f"/spotchecks/{check.id}").status_code == 200
    assert client.get("/spotchecks/summary").status_code == 403


def test_start_button_on_the_enterprise_page_only_for_inspectors(world, client, login):
    login("manager_a")
    assert 'id="start-spot-check"' in client.get(f"/org/enterprises/{world.ent_a1.id}").text
    post_form(client, "/auth/logout", {})
    login("entadmin_a1")
    assert 'id="start-spot-check"' not in client.get(f"/org/enterprises/{world.ent_a1.id}").text
