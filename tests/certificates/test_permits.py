"""Special workers' permits: default dates, status, dashboard scope, form errors."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from trainapp.certificates.models import Permit
from trainapp.certificates.permits import add_years, status_of
from trainapp.certificates.service import today

ON = dt.date(2026, 11, 23)


@pytest.mark.parametrize("valid_until,review,expected", [
    (dt.date(2026, 11, 22), None, "expired"),
    (dt.date(2028, 1, 1), dt.date(2026, 11, 1), "review_overdue"),
    (dt.date(2026, 12, 31), dt.date(2027, 6, 1), "expiring"),
    (dt.date(2029, 1, 1), dt.date(2027, 1, 10), "review_due"),
    (dt.date(2029, 1, 1), dt.date(2028, 1, 10), "valid"),
    (dt.date(2029, 1, 1), None, "valid"),
])
def test_status(valid_until, review, expected):
    assert status_of(Permit(valid_until=valid_until, next_review_on=review), ON, days=60) == expected


def test_add_years_on_29_february():
    assert add_years(dt.date(2024, 2, 29), 3) == dt.date(2027, 3, 1)
    assert add_years(dt.date(2024, 2, 28), 6) == dt.date(2030, 2, 28)


def _form(client, url):
    return csrf_from(client.get(url).text)


def test_enterprise_admin_records_a_permit_with_default_dates(client, world, login, db):
    login("entadmin_a1")
    url = f"/permits/enterprises/{world.ent_a1.id}/new"
    token = _form(client, url)
    resp = client.post(url, data={"csrf_token": token, "person_id": str(world.staff_a1.id),
                                  "operation_type": "焊接与热切割作业", "number": "T310000000001",
                                  "authority": "上海市应急管理局", "issued_on": "2021-03-01"})
    assert resp.status_code == 302
    permit = db.session.scalar(select(Permit))
    assert permit.valid_until == dt.date(2027, 2, 28) and permit.next_review_on == dt.date(2024, 3, 1)
    dashboard = client.get("/permits/")
    assert "T310000000001" in dashboard.text and "permit-review_overdue" in dashboard.text


def test_permit_form_errors(client, world, login, db):
    login("entadmin_a1")
    url = f"/permits/enterprises/{world.ent_a1.id}/new"
    token = _form(client, url)
    future = (today() + dt.timedelta(days=3)).isoformat()
    resp = client.post(url, data={"csrf_token": token, "person_id": str(world.staff_a1.id),
                                  "operation_type": "电工作业", "number": "X1", "issued_on": future})
    assert resp.status_code == 200 and "不能晚于今天" in resp.text
    resp = client.post(url, data={"csrf_token": token, "person_id": str(world.staff_b1.id),
                                  "operation_type": "电工作业", "number": "X1", "issued_on": "2022-01-01"})
    assert resp.status_code == 200 and "is-invalid" in resp.text  # someone from another enterprise
    assert db.session.scalar(select(Permit.id)) is None


def test_permits_are_scoped(client, world, login, db):
    for ent, person, number in ((world.ent_a1, world.staff_a1, "A-1"), (world.ent_b1, world.staff_b1, "B-1")):
        db.session.add(Permit(person_id=person.id, enterprise_id=ent.id, operation_type="电工作业", number=number,
                              issued_on=dt.date(2021, 1, 1), valid_until=dt.date(2026, 12, 1),
                              next_review_on=dt.date(2024, 1, 1)))
    db.session.commit()
    login("entadmin_a1")
    page = client.get("/permits/")
    assert "A-1" in page.text and "B-1" not in page.text
    other = db.session.scalar(select(Permit).where(Permit.number == "B-1"))
    assert client.get(f"/permits/{other.id}/edit").status_code == 404
    assert client.get(f"/permits/enterprises/{world.ent_b1.id}/new").status_code == 404
