"""The worker's page: the window, one submission per person, no key before submitting, bad input, floods."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests import factories
from tests.conftest import csrf_from
from tests.spotchecks.helpers import form_data, key_answers, later, make_check, post_answers, wrong_answers
from trainapp.extensions import db
from trainapp.models import utcnow
from trainapp.spotchecks import service
from trainapp.spotchecks.models import SpotCheckAnswer


def answers(check=None):
    stmt = select(SpotCheckAnswer)
    if check is not None:
        stmt = stmt.where(SpotCheckAnswer.spot_check_id == check.id)
    return db.session.scalars(stmt.order_by(SpotCheckAnswer.id)).all()


def worker(app):
    """A separate phone: its own cookies, no account."""
    return app.test_client()


# --- the window ---------------------------------------------------------------------------

def test_window_open_until_close_with_a_short_grace_for_posts(world):
    start = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.timezone.utc)
    check = make_check(world, minutes=30, now=start)
    raw = key_answers(check)
    assert service.window_state(check, start + dt.timedelta(minutes=29)) == "open"
    assert service.window_state(check, start + dt.timedelta(minutes=30)) == "closed"
    # A form filled in while open and sent a moment after the close still counts...
    inside = service.submit(check, "甲一员工", world.staff_a1.mobile[-4:], raw, start + dt.timedelta(minutes=30, seconds=50))
    assert inside.status == "submitted"
    # ...but not one sent well after it.
    late = service.submit(check, "路人", "1234", raw, start + dt.timedelta(minutes=32))
    assert late.status == "closed"
    early = service.submit(check, "路人", "1234", raw, start - dt.timedelta(seconds=1))
    assert early.status == "closed"
    db.session.commit()
    assert [a.name for a in answers(check)] == ["甲一员工"]


def test_expired_link_shows_closed_and_refuses_answers(world, app):
    check = make_check(world, minutes=30, now=later(-40))
    phone = worker(app)
    page = phone.get(f"/spot/{check.token}")
    assert page.status_code == 410
    assert 'data-status="closed"' in page.text and 'id="answer-form"' not in page.text
    resp = phone.post(f"/spot/{check.token}", data={**form_data(key_answers(check)), "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 410
    assert answers(check) == []


def test_closing_early_ends_the_window(world, client, login, app):
    check = make_check(world)
    login("manager_a")
    page = client.get(f"/spotchecks/{check.id}")
    assert 'id="spot-qr"' in page.text
    resp = client.post(f"/spotchecks/{check.id}/close", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    db.session.refresh(check)
    assert not check.is_open()
    assert worker(app).get(f"/spot/{check.token}").status_code == 410
    assert 'id="spot-qr"' not in client.get(f"/spotchecks/{check.id}").text


def test_unknown_or_other_checks_token_is_404(world, app):
    make_check(world)
    phone = worker(app)
    assert phone.get("/spot/not-a-real-token").status_code == 404
    assert phone.get("/spot/" + "x" * 300).status_code == 404


# --- one submission per person ---------------------------------------------------------------

def test_same_person_twice_is_refused_and_the_first_answer_kept(world, app):
    check = make_check(world)
    person = world.staff_a1
    first = worker(app)
    assert post_answers(first, check, form_data(key_answers(check), person=person)).status_code == 302
    # The same person again from another phone, spelling the name with a space and full-width digits.
    other = worker(app)
    digits = "".join(chr(ord(c) + 0xFEE0) for c in person.mobile[-4:])
    resp = post_answers(other, check, form_data(wrong_answers(check), name="甲一 员工", last4=digits))
    assert resp.status_code == 409
    assert 'data-status="already"' in resp.text
    [kept] = answers(check)
    assert kept.percent == 100.0 and kept.person_id == person.id


def test_unmatched_people_are_one_per_name_and_digits(world, app):
    check = make_check(world)
    assert post_answers(worker(app), check, form_data(key_answers(check), name="外包张三", last4="1234")).status_code == 302
    assert post_answers(worker(app), check, form_data(key_answers(check), name="外包张三", last4="1234")).status_code == 409
    assert post_answers(worker(app), check, form_data(key_answers(check), name="外包张三", last4="5678")).status_code == 302
    assert [(a.name, a.match) for a in answers(check)] == [("外包张三", "unmatched"), ("外包张三", "unmatched")]


def test_the_database_refuses_a_second_answer_for_the_same_identity(world):
    check = make_check(world)
    for _ in range(2):
        db.session.add(SpotCheckAnswer(spot_check_id=check.id, identity="p:1", name="x", mobile_last4="0000",
                                       match="matched", candidates=1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_phone_remembers_its_answer_and_can_hand_over(world, app):
    check = make_check(world)
    phone = worker(app)
    post_answers(phone, check, form_data(key_answers(check), person=world.staff_a1))
    again = phone.get(f"/spot/{check.token}")
    assert 'id="spot-result"' in again.text and 'id="answer-form"' not in again.text
    handed = phone.get(f"/spot/{check.token}?again=1", follow_redirects=True)
    assert 'id="answer-form"' in handed.text
    assert post_answers(phone, check, form_data(key_answers(check), person=world.staff_a2)).status_code == 302
    assert len(answers(check)) == 2


# --- the key stays on the server --------------------------------------------------------------

def test_answer_page_holds_no_key(world, app):
    check = make_check(world, count=8, seed=7)
    html = worker(app).get(f"/spot/{check.token}").text
    assert 'id="answer-form"' in html
    assert "data-correct" not in html and "data-key" not in html and "data-answer" not in html
    for q in check.questions:
        assert q.version.stem in html
        assert q.version.explanation not in html  # explanations would give the answer away
    form = html[html.index('id="answer-form"'):html.index("</form>", html.index('id="answer-form"'))]
    hidden = re.findall(r'<input[^>]*type="hidden"[^>]*>', form)
    assert len(hidden) == 1
    assert all('name="csrf_token"' in h for h in hidden)
    # Every option input carries only its own letter, never a mark of which one is right.
    for tag in re.findall(r'<input[^>]*name="q\d+"[^>]*>', html):
        assert set(re.findall(r'\s([a-z-]+)=', tag)) <= {"class", "type", "name", "id", "value"}


def test_result_shows_score_now_and_the_key_after_closing(world, app):
    check = make_check(world, count=4, seed=3)
    phone = worker(app)
    right = key_answers(check)
    mixed = {**right, 1: wrong_answers(check)[1]}
    post_answers(phone, check, form_data(mixed, person=world.staff_a1))
    page = phone.get(f"/spot/{check.token}").text
    assert 'id="result-score"' in page and "3 / 4" in page
    assert page.count('data-outcome="wrong"') == 1 and page.count('data-outcome="right"') == 3
    assert 'id="reveal-later"' in page
    assert "review-key" not in page and "review-explanation" not in page
    service.close_check(check)
    db.session.commit()
    page = phone.get(f"/spot/{check.token}").text
    assert 'id="reveal-later"' not in page
    assert page.count('class="review-key"') == 4
    assert check.questions[0].version.explanation in page


# --- grading ------------------------------------------------------------------------------------

def test_grading_is_done_on_the_server(world):
    check = make_check(world, count=6, seed=11)
    right = key_answers(check)
    wrong = wrong_answers(check)
    half = {pos: (right if pos % 2 else wrong)[pos] for pos in right}
    out = service.submit(check, "外包甲", "1111", half)
    db.session.commit()
    assert out.status == "submitted"
    assert out.answer.score == 3 and out.answer.max_score == 6 and out.answer.percent == 50.0
    assert [r.correct for r in sorted(out.answer.responses, key=lambda r: r.question.position)] == \
        [pos % 2 == 1 for pos in sorted(right)]


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("change,field_error", [
    ({"last4": "12a4"}, "请填写手机号的最后 4 位数字"),
    ({"last4": "123"}, "请填写手机号的最后 4 位数字"),
    ({"name": ""}, None),
    ({"name": "张" * 60}, None),
])
def test_bad_identity_is_shown_by_field_and_answers_kept(world, app, change, field_error):
    check = make_check(world, count=3)
    right = key_answers(check)
    resp = post_answers(worker(app), check, {**form_data(right, person=world.staff_a1), **change})
    assert resp.status_code == 400
    assert "is-invalid" in resp.text
    if field_error:
        assert field_error in resp.text
    assert resp.text.count(" checked") >= len(right)  # what they ticked is still ticked
    assert answers(check) == []


def test_unanswered_and_impossible_answers_are_flagged_per_question(world, app):
    check = make_check(world, count=3, seed=5)
    data = form_data(key_answers(check), person=world.staff_a1)
    data.pop("q1")
    data["q2"] = ["Z"]
    resp = post_answers(worker(app), check, data)
    assert resp.status_code == 400
    assert resp.text.count("q-error") == 2
    assert "请回答这道题" in resp.text
    assert answers(check) == []


def test_missing_csrf_is_refused(world, app):
    check = make_check(world)
    resp = post_answers(worker(app), check, form_data(key_answers(check), person=world.staff_a1), csrf=False)
    assert resp.status_code == 400
    assert answers(check) == []


def test_user_text_is_escaped(world, client, login, app):
    check = make_check(world)
    post_answers(worker(app), check, form_data(key_answers(check), name="<script>x()</script>", last4="4321"))
    login("manager_a")
    page = client.get(f"/spotchecks/{check.id}").text
    assert "<script>x()</script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page


# --- floods -------------------------------------------------------------------------------------------

def test_per_check_cap(world, app):
    check = make_check(world)
    check.max_answers = 2
    db.session.commit()
    for i in range(2):
        assert post_answers(worker(app), check, form_data(key_answers(check), name=f"外包{i}", last4="1111")).status_code == 302
    resp = post_answers(worker(app), check, form_data(key_answers(check), name="外包9", last4="1111"))
    assert resp.status_code == 409 and 'data-status="full"' in resp.text
    assert len(answers(check)) == 2


def test_cap_defaults_to_twice_the_staff_but_at_least_fifty(world):
    check = make_check(world)
    assert check.max_answers == 50
    for _ in range(30):
        factories.person(world.ent_a2)
    db.session.commit()
    assert make_check(world, world.ent_a2, bank=check.questions[0].version.question.bank).max_answers == 62


def test_one_address_is_rate_limited(world, app):
    assert app.config["RATELIMIT_ENABLED"]
    check = make_check(world)
    phone = worker(app)
    token = csrf_from(phone.get(f"/spot/{check.token}").text)
    codes = [phone.post(f"/spot/{check.token}", data={"csrf_token": token, "name": "", "last4": ""}).status_code
             for _ in range(31)]
    assert codes[:30] == [400] * 30
    assert codes[30] == 429
    assert db.session.scalar(select(func.count(SpotCheckAnswer.id))) == 0


def test_answer_times_come_from_the_server(world, app):
    check = make_check(world)
    before = utcnow()
    post_answers(worker(app), check, form_data(key_answers(check), person=world.staff_a1, ))
    [a] = answers(check)
    assert before - dt.timedelta(seconds=1) <= service.aware(a.submitted_at) <= utcnow()
