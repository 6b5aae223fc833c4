"""Saving an answer with one statement (the paper cached per process, the account only claimed by the session).

Every answer below is posted after the paper page was shown, so the process has the paper cached
and the one-statement path is the one taken; what it does not save must be decided exactly as the
full path decides it.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select, update

from tests import factories
from tests.conftest import csrf_from
from tests.exams.helpers import make_bank, make_exam
from trainapp.auth.models import RoleGrant, User
from trainapp.exams import service
from trainapp.exams.models import Attempt, AttemptItem
from trainapp.questionbank.qtypes import LETTERS


def _learner(world):
    return world.users["learner"]


def _start(client, exam_id):
    """Start through the web and show the paper (which caches it); returns the attempt URL, CSRF token and id."""
    page = client.get(f"/exams/{exam_id}")
    started = client.post(f"/exams/{exam_id}/start", data={"csrf_token": csrf_from(page.text)})
    assert started.status_code == 302, started.text
    url = started.headers["Location"]
    paper = client.get(url)
    assert paper.status_code == 200 and 'id="exam-app"' in paper.text
    attempt_id = int(url.rstrip("/").rsplit("/", 1)[1])
    assert attempt_id in service._papers  # the paper page cached what saving needs
    return url, csrf_from(paper.text), attempt_id


def _save(client, url, token, position, response):
    return client.post(f"{url}/answer", json={"position": position, "response": response},
                       headers={"X-CSRFToken": token})


def _items(db, attempt_id):
    db.session.expire_all()
    return {i.position: i for i in db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id))}


def _stored(db, attempt_id):
    return {p: i.response for p, i in _items(db, attempt_id).items()}


@pytest.fixture(autouse=True)
def _no_cached_papers():
    """Each test starts with no paper cached (ids are reused across tests, as the database is emptied)."""
    service.forget_papers()
    yield
    service.forget_papers()


@pytest.fixture
def exam(world, db):
    return make_exam(make_bank(), shuffle_options=True, shuffle_questions=True)


@pytest.fixture
def counted(app):
    """The SQL statements run while the block runs (a list, filled as they go)."""
    from trainapp.extensions import db as _db

    with app.app_context():
        engine = _db.engine
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_saved_answer_is_what_was_acknowledged_with_one_statement(client, world, login, db, exam, counted):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    items = _items(db, attempt_id)
    choices = {"single": ["b", " C", "D", "A"], "multiple": ["ca", "DB ", "abcd", "B"], "truefalse": ["t", "F"]}
    acknowledged = {}
    for position, item in sorted(items.items()):
        for response in choices[item.version.qtype]:
            counted.clear()
            resp = _save(client, url, token, position, response)
            assert resp.status_code == 200, resp.text
            assert resp.get_json() == {"ok": True, "position": position, "response": response}
            assert len(counted) == 1 and counted[0].lstrip().upper().startswith("UPDATE")  # account checked inside
            acknowledged[position] = response
    assert items[1].response == ""  # nothing was saved before
    for position, item in _items(db, attempt_id).items():
        shown = "".join(sorted(acknowledged[position].strip().upper()))
        assert service.to_displayed(item, item.response) == shown
        assert item.answered_at is not None
    clear = _save(client, url, token, 1, "")
    assert clear.status_code == 200 and _stored(db, attempt_id)[1] == ""


def test_the_stored_letters_follow_the_shuffled_order(client, world, login, db):
    exam = make_exam(make_bank(), parts=(("single", 4, ""), ("multiple", 3, "")), shuffle_options=True)
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    items = _items(db, attempt_id)
    assert any(i.option_order != sorted(i.option_order) for i in items.values())
    for position, item in items.items():
        assert _save(client, url, token, position, "A").status_code == 200
    for position, item in _items(db, attempt_id).items():
        assert item.response == LETTERS[item.option_order[0]]  # the option shown first, in the stored letters


def test_another_users_attempt_is_404_whatever_the_payload(app, client, world, login, db, exam):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    other_person = factories.person(world.ent_a1, "学员乙", audience="principal")
    factories.user("other_learner", RoleGrant(role="learner"), person_obj=other_person)
    db.session.commit()
    other = app.test_client()
    page = other.get("/auth/login")
    other.post("/auth/login", data={"login": "other_learner", "password": factories.PASSWORD,
                                    "csrf_token": csrf_from(page.text)})
    other_token = csrf_from(other.get("/home").text)
    for body in ({"position": 1, "response": "A"}, {"position": 1, "response": "T"}, {"position": 1, "response": ""},
                 {"position": 99, "response": "A"}, {"position": 1, "response": "Z"}):
        resp = other.post(f"{url}/answer", json=body, headers={"X-CSRFToken": other_token})
        assert resp.status_code == 404, body
    for raw in ("not json", "[1]", "{" + " " * 5000 + "}"):
        resp = other.post(f"{url}/answer", data=raw, content_type="application/json",
                          headers={"X-CSRFToken": other_token})
        assert resp.status_code == 404, raw
    assert set(_stored(db, attempt_id).values()) == {""}
    # The owner is unaffected and can still save.
    assert _save(client, url, token, 1, "").status_code == 200


def test_after_the_deadline_is_refused_within_the_grace_saved(client, world, login, db, exam, counted):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    item = _items(db, attempt_id)[1]
    answer = "T" if item.version.qtype == "truefalse" else "A"
    now = dt.datetime.now(dt.timezone.utc)
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline=now - dt.timedelta(seconds=2)))
    db.session.commit()
    counted.clear()
    within = _save(client, url, token, 1, answer)
    assert within.status_code == 200 and within.get_json()["ok"]  # on its way when time ran out: kept
    assert len(counted) == 1  # by the one statement
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline=now - service.SAVE_GRACE
                                                                                     - dt.timedelta(seconds=5)))
    db.session.commit()
    late = _save(client, url, token, 2, "T" if _items(db, attempt_id)[2].version.qtype == "truefalse" else "A")
    assert late.status_code == 409 and late.get_json()["closed"] is True and late.get_json()["ok"] is False
    stored = _stored(db, attempt_id)
    assert stored[1] != "" and stored[2] == ""


def test_submitted_attempt_refuses_answers(client, world, login, db, exam):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    assert client.post(f"{url}/submit", data={"csrf_token": token}).status_code == 302
    late = _save(client, url, token, 1, "")
    assert late.status_code == 409 and late.get_json()["closed"] is True


def test_unknown_options_and_questions_not_in_the_paper_are_refused(client, world, login, db, exam):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    by_type = {}
    for position, item in _items(db, attempt_id).items():
        by_type.setdefault(item.version.qtype, position)
    bad = [(by_type["single"], "E"), (by_type["single"], "AB"), (by_type["single"], "1"),
           (by_type["multiple"], "AA"), (by_type["multiple"], "AE"), (by_type["truefalse"], "A"),
           (by_type["truefalse"], "TF")]
    for position, response in bad:
        resp = _save(client, url, token, position, response)
        assert resp.status_code == 400 and resp.get_json()["ok"] is False, (position, response)
        assert "closed" in resp.get_json() and resp.get_json()["closed"] is False
    for position in (99, 0, -1, 10**12):
        resp = _save(client, url, token, position, "A")
        assert resp.status_code == 400, position
    assert set(_stored(db, attempt_id).values()) == {""}


def test_the_answer_endpoint_keeps_csrf(client, world, login, db, exam):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    missing = client.post(f"{url}/answer", json={"position": 1, "response": ""})
    assert missing.status_code == 400 and "学员甲" in missing.text  # the error page, signed in
    assert client.post(f"{url}/answer", json={"position": 1, "response": ""},
                       headers={"X-CSRFToken": "forged"}).status_code == 400
    assert _items(db, attempt_id)[1].answered_at is None
    db.session.execute(update(User).where(User.id == _learner(world).id)
                       .values(session_version=User.session_version + 1))
    db.session.commit()
    ended = client.post(f"{url}/answer", json={"position": 1, "response": ""})
    assert ended.status_code == 400 and "学员甲" not in ended.text  # signed out by then: shown as such


@pytest.mark.parametrize("change", ["password", "deactivated", "signed_out"])
def test_an_ended_session_saves_nothing_and_goes_to_sign_in(client, world, login, db, exam, change):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    user = db.session.get(User, _learner(world).id)
    if change == "password":  # what a password change elsewhere does to this session
        user.session_version += 1
    elif change == "deactivated":
        user.is_active_account = False
    else:
        client.post("/auth/logout", data={"csrf_token": token})
    db.session.commit()
    resp = _save(client, url, token, 1, "")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert _items(db, attempt_id)[1].answered_at is None


def test_a_learner_without_a_person_is_sent_to_the_profile(client, world, login, db, exam):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    db.session.execute(update(User).where(User.id == _learner(world).id).values(person_id=None))
    db.session.commit()
    resp = _save(client, url, token, 1, "")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/profile")
    assert _items(db, attempt_id)[1].answered_at is None


def test_a_reused_attempt_id_is_not_answered_from_the_cached_paper(client, world, login, db, counted):
    """With SQLite a deleted attempt's id can come back; the cached paper must not be used for the new one."""
    exam = make_exam(make_bank(), parts=(("single", 2, ""),), shuffle_options=True, shuffle_questions=False)
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    item = _items(db, attempt_id)[1]
    item_id, old_order = item.id, list(item.option_order)
    new_order = old_order[1:] + old_order[:1]  # another order: a different option shown first
    started = db.session.get(Attempt, attempt_id).started_at
    db.session.execute(update(Attempt).where(Attempt.id == attempt_id)
                       .values(started_at=started + dt.timedelta(seconds=1)))
    db.session.execute(update(AttemptItem).where(AttemptItem.id == item_id).values(option_order=new_order))
    db.session.commit()
    assert _save(client, url, token, 1, "A").status_code == 200
    assert _stored(db, attempt_id)[1] == LETTERS[new_order[0]] != LETTERS[old_order[0]]
    counted.clear()
    assert _save(client, url, token, 1, "B").status_code == 200  # the paper read again, then one statement each
    assert _save(client, url, token, 1, "A").status_code == 200
    assert len(counted) == 3 and _stored(db, attempt_id)[1] == LETTERS[new_order[0]]


def test_rate_limit_and_its_headers(client, world, login, db, exam):
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    first = _save(client, url, token, 1, "")
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "240" and first.headers["X-RateLimit-Remaining"] == "239"
    assert "X-RateLimit-Reset" in first.headers and "Retry-After" in first.headers
    codes = [_save(client, url, token, 1 + i % 7, "").status_code for i in range(239)]
    assert codes == [200] * 239
    refused = _save(client, url, token, 1, "")
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert 'id="whoami"' in refused.text and "学员甲" in refused.text  # the page knows who is signed in


def test_an_ended_session_is_sent_to_sign_in_even_past_the_rate_limit(client, world, login, db, exam):
    """As when the account was loaded first: login_required answered before the limiter was reached."""
    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    db.session.execute(update(User).where(User.id == _learner(world).id)
                       .values(session_version=User.session_version + 1))
    db.session.commit()
    responses = [_save(client, url, token, 1, "") for _ in range(245)]
    assert [r.status_code for r in responses] == [302] * 245
    assert all("/auth/login" in r.headers["Location"] and "X-RateLimit-Limit" not in r.headers for r in responses)
    assert _items(db, attempt_id)[1].answered_at is None


def test_submit_twice_after_fast_answers_grades_once(client, world, login, db, exam):
    from trainapp.questionbank.models import Question

    login(_learner(world).mobile)
    url, token, attempt_id = _start(client, exam.id)
    for position, item in _items(db, attempt_id).items():
        assert _save(client, url, token, position, service.to_displayed(item, item.version.answer)).status_code == 200
    assert client.post(f"{url}/submit", data={"csrf_token": token}).status_code == 302
    assert client.post(f"{url}/submit", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == "submitted" and attempt.score == attempt.max_score and attempt.passed
    assert db.session.scalar(select(func.sum(Question.times_answered))) == len(attempt.items)
    assert db.session.scalar(select(func.sum(Question.times_correct))) == len(attempt.items)
