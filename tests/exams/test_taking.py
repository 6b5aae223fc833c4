"""Taking an exam: drawing, freezing, saving answers, deadlines, grading once, resuming, access."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.exams.helpers import key_in_shown_letters, later, make_bank, make_exam
from trainapp.exams import service
from trainapp.exams.models import Attempt, AttemptEvent, AttemptItem
from trainapp.questionbank.models import Question, update_question


def _learner(world):
    return world.users["learner"]


def test_blueprint_draws_counts_tags_without_duplicates(world, db):
    bank = make_bank(singles=10, multiples=6, truefalse=6)
    exam = make_exam(bank, parts=(("single", 3, "重点"), ("single", 2, ""), ("multiple", 3, ""), ("truefalse", 4, "")))
    for seed in range(20):
        qs = service.draw_questions(exam, random.Random(seed))
        assert len(qs) == 12 and len({q.id for q in qs}) == 12
        singles = [q for q in qs if q.qtype == "single"]
        assert len(singles) == 5 and sum(1 for q in singles if "重点" in q.tag_list) >= 3
        assert sum(q.qtype == "multiple" for q in qs) == 3 and sum(q.qtype == "truefalse" for q in qs) == 4


def test_shortfall_names_the_part(world, db):
    bank = make_bank(singles=4, multiples=1)
    exam = make_exam(bank, parts=(("single", 3, ""), ("multiple", 2, ""), ("single", 2, "重点")), status="draft")
    messages = service.blueprint_shortfalls(exam)
    joined = " ".join(messages)
    assert "第 2 部分" in joined and "需要 2 题，只有 1 题可用" in joined
    # 4 singles: 2 tagged go to part 3 first, leaving 2 for part 1 which needs 3.
    assert "第 1 部分" in joined and "需要 3 题，只有 2 题可用" in joined
    assert service.blueprint_shortfalls(make_exam(make_bank("足够", singles=10, multiples=4), status="draft")) == []


def test_paper_is_frozen_and_edits_do_not_change_it(world, db):
    bank = make_bank()
    exam = make_exam(bank, shuffle_options=False)
    attempt = service.start_attempt(_learner(world), exam, rng=random.Random(1))
    item = attempt.items[0]
    question = db.session.get(Question, item.version.question_id)
    shown_before = service.shown_paper(attempt)[0]
    assert update_question(question, stem="改过的题干", options=question.options, answer=question.answer) is True
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Attempt, attempt.id)
    assert service.shown_paper(again)[0].stem == shown_before.stem != "改过的题干"
    assert db.session.get(Question, question.id).version == 2


def test_key_is_not_sent_before_submission(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank)
    login(_learner(world).mobile)
    page = client.get(f"/exams/{exam.id}")
    started = client.post(f"/exams/{exam.id}/start", data={"csrf_token": csrf_from(page.text)})
    take = client.get(started.headers["Location"])
    assert take.status_code == 200 and 'id="exam-app"' in take.text
    assert "的解析" not in take.text  # explanations stay on the server
    attempt = db.session.scalar(select(Attempt))
    paper_html = take.text.split('id="exam-app"')[1]
    assert "correct" not in paper_html.lower() and "data-answer" not in paper_html
    for item in attempt.items:
        assert item.version.stem in take.text


def _start_via_web(client, exam_id):
    page = client.get(f"/exams/{exam_id}")
    resp = client.post(f"/exams/{exam_id}/start", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302, resp.text
    url = resp.headers["Location"]
    return url, csrf_from(client.get(url).text)


def _save(client, url, token, position, response):
    return client.post(f"{url}/answer", json={"position": position, "response": response},
                       headers={"X-CSRFToken": token})


def test_answers_saved_one_by_one_and_perfect_paper_scores_full(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank)
    login(_learner(world).mobile)
    url, token = _start_via_web(client, exam.id)
    attempt = db.session.scalar(select(Attempt))
    for item in attempt.items:
        resp = _save(client, url, token, item.position, key_in_shown_letters(item))
        assert resp.status_code == 200 and resp.get_json()["ok"]
    submit = client.post(f"{url}/submit", data={"csrf_token": token})
    assert submit.status_code == 302
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert attempt.status == "submitted" and attempt.score == attempt.max_score == 3 * 2 + 2 * 4 + 2 * 1
    assert attempt.passed is True
    late = _save(client, url, token, 1, "A")  # after submitting: refused, and the page is told it closed
    assert late.status_code == 409 and late.get_json()["closed"] is True
    result = client.get(url)
    assert 'id="result-score"' in result.text and "16.0" in result.text and "的解析" in result.text


def test_shuffled_options_are_mapped_back_to_the_stored_key(world, db):
    bank = make_bank()
    exam = make_exam(bank, parts=(("single", 6, ""), ("multiple", 4, "")), shuffle_options=True)
    attempt = service.start_attempt(_learner(world), exam, rng=random.Random(7))
    assert any(item.option_order != sorted(item.option_order) for item in attempt.items)
    for item in attempt.items:
        service.save_answer(attempt, item.position, key_in_shown_letters(item))
        assert item.response == item.version.answer
    assert service.submit(attempt)
    assert attempt.score == attempt.max_score


@pytest.mark.parametrize("partial,expected", [(False, 0.0), (True, 2.0)])
def test_multiple_choice_scoring_setting(world, db, partial, expected):
    bank = make_bank(singles=0, multiples=2, truefalse=0)
    exam = make_exam(bank, parts=(("multiple", 1, ""),), partial_credit=partial, shuffle_options=False)
    attempt = service.start_attempt(_learner(world), exam)
    service.save_answer(attempt, 1, "A")  # one of the two right options, nothing wrong
    service.submit(attempt)
    assert attempt.score == expected


def test_tampered_answers_are_refused(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank, parts=(("single", 1, ""), ("truefalse", 1, "")), shuffle_questions=False)
    login(_learner(world).mobile)
    url, token = _start_via_web(client, exam.id)
    assert _save(client, url, token, 1, "Z").status_code == 400
    assert _save(client, url, token, 1, "AB").status_code == 400
    assert _save(client, url, token, 2, "A").status_code == 400
    assert _save(client, url, token, 99, "A").status_code == 400
    assert client.post(f"{url}/answer", json={"position": "1", "response": "A"},
                       headers={"X-CSRFToken": token}).status_code == 400
    assert client.post(f"{url}/answer", data="not json", content_type="application/json",
                       headers={"X-CSRFToken": token}).status_code == 400
    assert _save(client, url, token, 0, "A").status_code == 400
    assert _save(client, url, token, 10**30, "A").status_code == 400
    big = client.post(f"{url}/answer", data="{" + " " * 5000 + "}", content_type="application/json",
                      headers={"X-CSRFToken": token})
    assert big.status_code == 413
    no_csrf = client.post(f"{url}/answer", json={"position": 1, "response": "A"})
    assert no_csrf.status_code == 400
    assert db.session.scalar(select(func.count(AttemptItem.id)).where(AttemptItem.response != "")) == 0


def test_other_users_attempt_is_404(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank)
    attempt = service.start_attempt(_learner(world), exam)
    login("trainer")
    token = csrf_from(client.get("/home").text)
    assert client.get(f"/exams/attempts/{attempt.id}").status_code == 404
    assert client.post(f"/exams/attempts/{attempt.id}/answer", json={"position": 1, "response": "A"},
                       headers={"X-CSRFToken": token}).status_code == 404
    # Ownership is judged before the payload: a malformed or oversize one does not reveal the attempt.
    for body in ("not json", "[1, 2]", '{"position": "1"}', "{" + " " * 5000 + "}"):
        assert client.post(f"/exams/attempts/{attempt.id}/answer", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token}).status_code == 404
    assert client.post(f"/exams/attempts/{attempt.id}/submit", data={"csrf_token": token}).status_code == 404


def test_resume_after_reload_and_after_signing_in_again(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank)
    login(_learner(world).mobile)
    url, token = _start_via_web(client, exam.id)
    attempt = db.session.scalar(select(Attempt))
    first = attempt.items[0]
    _save(client, url, token, first.position, key_in_shown_letters(first))
    client.post("/auth/logout", data={"csrf_token": token})
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    login(_learner(world).mobile)
    again_url, _token = _start_via_web(client, exam.id)
    assert again_url == url
    page = client.get(url)
    assert page.text.count("checked") >= 1
    assert db.session.scalar(select(func.count(Attempt.id))) == 1


def test_one_open_attempt_enforced_by_the_database(world, db):
    from sqlalchemy.exc import IntegrityError

    bank = make_bank()
    exam = make_exam(bank)
    learner = _learner(world)
    first = service.start_attempt(learner, exam)
    assert service.start_attempt(learner, exam).id == first.id
    db.session.add(Attempt(exam_id=exam.id, user_id=learner.id, number=9, status="open",
                           deadline=later(10), max_score=1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deadline_refuses_answers_and_the_sweeper_submits(world, db):
    bank = make_bank()
    exam = make_exam(bank, time_limit_minutes=10)
    t0 = dt.datetime.now(dt.timezone.utc)
    attempt = service.start_attempt(_learner(world), exam, now=t0)
    item = attempt.items[0]
    service.save_answer(attempt, item.position, key_in_shown_letters(item), now=t0 + dt.timedelta(minutes=9))
    db.session.commit()
    with pytest.raises(service.ExamError):
        service.save_answer(attempt, item.position, "B", now=t0 + dt.timedelta(minutes=11))
    db.session.rollback()
    assert service.sweep_expired(now=t0 + dt.timedelta(minutes=5)) == 0
    assert service.sweep_expired(now=t0 + dt.timedelta(minutes=11)) == 1
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert attempt.status == "submitted" and attempt.auto_submitted and attempt.score == item.points
    assert service.sweep_expired(now=t0 + dt.timedelta(minutes=12)) == 0


def test_deadline_is_capped_by_the_window(world, db):
    bank = make_bank()
    exam = make_exam(bank, time_limit_minutes=60, closes_at=later(10))
    attempt = service.start_attempt(_learner(world), exam)
    assert abs((attempt.deadline_at - later(10)).total_seconds()) < 5


def test_submitting_twice_grades_once(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank)
    login(_learner(world).mobile)
    url, token = _start_via_web(client, exam.id)
    client.post(f"{url}/submit", data={"csrf_token": token})
    client.post(f"{url}/submit", data={"csrf_token": token})
    answered = db.session.scalar(select(func.sum(Question.times_answered)))
    assert answered == 7  # seven questions, each counted once
    attempt = db.session.scalar(select(Attempt))
    assert service.submit(attempt) is False


def test_attempt_allowance_and_waiting_time(world, db):
    bank = make_bank()
    exam = make_exam(bank, max_attempts=2, retry_wait_minutes=30)
    learner = _learner(world)
    t0 = dt.datetime.now(dt.timezone.utc)
    a1 = service.start_attempt(learner, exam, now=t0)
    service.submit(a1, now=t0 + dt.timedelta(minutes=5))
    db.session.commit()
    with pytest.raises(service.ExamError, match="分钟后"):
        service.start_attempt(learner, exam, now=t0 + dt.timedelta(minutes=20))
    a2 = service.start_attempt(learner, exam, now=t0 + dt.timedelta(minutes=36))
    assert a2.number == 2
    service.submit(a2, now=t0 + dt.timedelta(minutes=40))
    db.session.commit()
    with pytest.raises(service.ExamError, match="2 次"):
        service.start_attempt(learner, exam, now=t0 + dt.timedelta(minutes=90))


def test_counted_attempt_highest_or_last(world, db):
    bank = make_bank()
    learner = _learner(world)
    for counts, expected in (("highest", 16.0), ("last", 0.0)):
        exam = make_exam(bank, counts=counts, title=counts)
        a1 = service.start_attempt(learner, exam)
        for item in a1.items:
            service.save_answer(a1, item.position, key_in_shown_letters(item))
        service.submit(a1)
        db.session.commit()
        a2 = service.start_attempt(learner, exam)
        service.submit(a2)
        db.session.commit()
        assert service.counted_attempt(learner.id, exam).score == expected


@pytest.mark.parametrize("content,when,sees_answers,sees_key", [
    ("score", "immediately", False, False),
    ("answers", "immediately", True, False),
    ("full", "immediately", True, True),
    ("full", "after_close", False, False),
])
def test_review_options(client, world, login, db, content, when, sees_answers, sees_key):
    bank = make_bank()
    exam = make_exam(bank, review_content=content, review_when=when, closes_at=later(60),
                     parts=(("single", 1, ""),))
    login(_learner(world).mobile)
    url, token = _start_via_web(client, exam.id)
    client.post(f"{url}/submit", data={"csrf_token": token})
    page = client.get(url)
    assert 'id="result-score"' in page.text
    assert ('id="review"' in page.text) == sees_answers
    assert ("review-key" in page.text) == sees_key
    assert ("的解析" in page.text) == sees_key


def test_leaving_the_page_is_logged(client, world, login, db):
    bank = make_bank()
    exam = make_exam(bank)
    login(_learner(world).mobile)
    url, token = _start_via_web(client, exam.id)
    for kind in ("leave", "return", "leave"):
        assert client.post(f"{url}/event", json={"kind": kind}, headers={"X-CSRFToken": token}).status_code == 200
    assert client.post(f"{url}/event", json={"kind": "hack"}, headers={"X-CSRFToken": token}).status_code == 400
    attempt = db.session.scalar(select(Attempt))
    assert attempt.leave_count == 2
    assert db.session.scalar(select(func.count(AttemptEvent.id))) == 3


def test_exam_not_meant_for_the_learner_is_hidden(client, world, login, db):
    bank = make_bank()
    other_audience = make_exam(bank, audiences=["special_worker"], title="特种作业考试")
    other_sector = make_exam(bank, title="化工考试")
    other_sector.sectors = [world.chem]
    mine = make_exam(bank, audiences=["principal"], title="主要负责人考试")
    mine.sectors = [world.trade]  # the learner's enterprise is 粉尘涉爆, a sub-sector of 工贸
    db.session.commit()
    login(_learner(world).mobile)
    listing = client.get("/exams/")
    assert "主要负责人考试" in listing.text and "特种作业考试" not in listing.text and "化工考试" not in listing.text
    assert client.get(f"/exams/{other_audience.id}").status_code == 404
    with pytest.raises(service.ExamError):
        service.start_attempt(_learner(world), other_sector)


def test_close_expired_command(app, world, db):
    bank = make_bank()
    exam = make_exam(bank, time_limit_minutes=1)
    t0 = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    service.start_attempt(_learner(world), exam, now=t0)
    result = app.test_cli_runner().invoke(args=["exams", "close-expired"])
    assert result.exit_code == 0 and "Submitted 1" in result.output
    assert db.session.scalar(select(Attempt.status)) == "submitted"
