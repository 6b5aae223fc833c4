"""Practice mode: questions without keys, instant feedback, the wrong-answer book, no exam records."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from
from trainapp.auth.models import RoleGrant
from trainapp.exams.models import Attempt, AttemptItem, WrongAnswer
from trainapp.extensions import db as _db
from trainapp.questionbank import service as bank_service
from trainapp.questionbank.models import Question, stem_hash

EXPLANATION = "解析：动火作业前必须办理审批手续（独有标记XYZ）"


def add_question(bank, qtype, stem, options, answer, status="active", explanation=EXPLANATION) -> Question:
    q = Question(bank_id=bank.id, qtype=qtype, stem=stem, stem_hash=stem_hash(stem), options=options, answer=answer,
                 explanation=explanation, source="", tags="", status=status, version=1, times_answered=0,
                 times_correct=0)
    _db.session.add(q)
    _db.session.commit()
    return q


def one_question_bank(qtype="single", answer="B", name="练习题库", audiences=None):
    bank = bank_service.new_bank(name, None)
    bank.audiences = audiences or []
    options = [] if qtype == "truefalse" else ["直接动火", "先办理审批", "通知家属", "购买保险"]
    q = add_question(bank, qtype, f"{name}：动火作业前应当做什么？", options, answer)
    return bank, q


def sign_in(app, login: str):
    client = app.test_client()
    page = client.get("/auth/login")
    assert client.post("/auth/login", data={"login": login, "password": factories.PASSWORD,
                                            "csrf_token": csrf_from(page.text)}).status_code == 302
    return client


@pytest.fixture
def learner(app, world):
    return sign_in(app, world.users["learner"].mobile)


def answer(client, question_id: int, values, origin="bank"):
    page = client.get(f"/practice/question/{question_id}")
    data = {"csrf_token": csrf_from(page.text), "origin": origin}
    if values:
        data["answer"] = list(values)
    return client.post(f"/practice/question/{question_id}", data=data)


def wrong_entry(user, question):
    _db.session.expire_all()
    return _db.session.scalar(select(WrongAnswer).where(WrongAnswer.user_id == user.id,
                                                        WrongAnswer.question_id == question.id))


def test_the_question_page_carries_no_key(learner, world, db):
    bank, q = one_question_bank()
    page = learner.get(f"/practice/bank/{bank.id}")
    assert page.status_code == 200
    assert q.stem in page.text and "先办理审批" in page.text
    assert "独有标记XYZ" not in page.text and "解析" not in page.text
    assert "正确答案" not in page.text and "question-answer" not in page.text
    assert "text-success" not in page.text and "list-group-item-success" not in page.text
    # Each option is a radio with its letter, none pre-checked, and nothing marks B.
    assert re.findall(r'type="radio" name="answer" value="([A-H])"', page.text) == ["A", "B", "C", "D"]
    assert "checked" not in page.text
    direct = learner.get(f"/practice/question/{q.id}").text
    assert q.stem in direct and "独有标记XYZ" not in direct and "checked" not in direct
    tf_bank, tf = one_question_bank("truefalse", "F", name="判断练习")
    page = learner.get(f"/practice/question/{tf.id}").text
    assert re.findall(r'type="radio" name="answer" value="([TF])">([^<]+)<', page) == [("T", "对"), ("F", "错")]
    assert "独有标记XYZ" not in page


def test_multiple_choice_uses_checkboxes(learner, world, db):
    bank, q = one_question_bank("multiple", "AC")
    page = learner.get(f"/practice/question/{q.id}").text
    assert re.findall(r'type="checkbox" name="answer" value="([A-H])"', page) == ["A", "B", "C", "D"]
    right = answer(learner, q.id, ["C", "A"])
    assert 'data-correct="1"' in right.text
    partly = answer(learner, q.id, ["A"])
    assert 'data-correct="0"' in partly.text and 'id="your-answer">A<' in partly.text


def test_feedback_right_and_wrong(learner, world, db):
    bank, q = one_question_bank()
    right = answer(learner, q.id, ["B"])
    assert right.status_code == 200 and 'data-correct="1"' in right.text and "回答正确" in right.text
    assert 'id="correct-answer">B<' in right.text and "独有标记XYZ" in right.text
    assert f'href="/practice/bank/{bank.id}?after={q.id}" id="next-link">下一题<' in right.text
    assert wrong_entry(world.users["learner"], q) is None
    wrong = answer(learner, q.id, ["A"])
    assert 'data-correct="0"' in wrong.text and "回答错误" in wrong.text
    assert 'id="your-answer">A<' in wrong.text and 'id="correct-answer">B<' in wrong.text
    assert "独有标记XYZ" in wrong.text


def test_true_false_feedback_shows_words(learner, world, db):
    bank, q = one_question_bank("truefalse", "F", name="判断练习")
    resp = answer(learner, q.id, ["T"])
    assert 'data-correct="0"' in resp.text and 'id="your-answer">对<' in resp.text
    assert 'id="correct-answer">错<' in resp.text
    assert 'data-correct="1"' in answer(learner, q.id, ["F"]).text


def test_wrong_book_upsert_and_resolution(learner, world, db):
    user = world.users["learner"]
    bank, q = one_question_bank()
    answer(learner, q.id, ["A"])
    entry = wrong_entry(user, q)
    assert (entry.wrong_count, entry.last_response, entry.resolved) == (1, "A", False)
    answer(learner, q.id, ["C"])
    entry = wrong_entry(user, q)
    assert (entry.wrong_count, entry.last_response, entry.resolved) == (2, "C", False)
    assert db.session.scalar(select(func.count(WrongAnswer.id))) == 1
    book = learner.get("/practice/wrong").text
    assert q.stem in book and "答错 2 次" in book
    assert f'href="/practice/question/{q.id}?from=wrong">再练一次<' in book
    retry = learner.get(f"/practice/question/{q.id}?from=wrong").text
    assert 'name="origin" value="wrong"' in retry and "独有标记XYZ" not in retry
    resp = answer(learner, q.id, ["B"], origin="wrong")
    assert 'data-correct="1"' in resp.text and "已从错题本中移出" in resp.text
    assert 'href="/practice/wrong" id="next-link"' in resp.text
    entry = wrong_entry(user, q)
    assert entry.resolved is True and entry.wrong_count == 2
    assert q.stem not in learner.get("/practice/wrong").text
    # Wrong again: back in the book, counted on.
    answer(learner, q.id, ["D"])
    entry = wrong_entry(user, q)
    assert (entry.wrong_count, entry.resolved) == (3, False)
    assert 'id="wrong-book-link"' in learner.get("/practice/").text


def test_practice_never_creates_attempts_or_changes_statistics(learner, world, db):
    bank, q = one_question_bank()
    for values in (["A"], ["B"], ["C"]):
        answer(learner, q.id, values)
    learner.get(f"/practice/bank/{bank.id}")
    assert db.session.scalar(select(func.count(Attempt.id))) == 0
    assert db.session.scalar(select(func.count(AttemptItem.id))) == 0
    db.session.expire_all()
    stored = db.session.get(Question, q.id)
    assert (stored.times_answered, stored.times_correct, stored.version) == (0, 0, 1)


def test_retired_questions_are_never_served(learner, world, db):
    user = world.users["learner"]
    bank, active = one_question_bank()
    retired = add_question(bank, "single", "已停用的题目ABC", ["甲", "乙"], "A", status="retired")
    for _ in range(25):
        page = learner.get(f"/practice/bank/{bank.id}").text
        assert "已停用的题目ABC" not in page and active.stem in page
    assert learner.get(f"/practice/question/{retired.id}").status_code == 404
    token = csrf_from(learner.get(f"/practice/question/{active.id}").text)
    assert learner.post(f"/practice/question/{retired.id}", data={"csrf_token": token, "answer": "B"}).status_code == 404
    assert wrong_entry(user, retired) is None
    # A question retired after it went into the book disappears from the book.
    answer(learner, active.id, ["A"])
    db.session.get(Question, active.id).status = "retired"
    db.session.commit()
    assert active.stem not in learner.get("/practice/wrong").text
    assert learner.get(f"/practice/bank/{bank.id}").status_code == 200
    assert "暂时没有可以练习的题目" in learner.get(f"/practice/bank/{bank.id}").text


def test_archived_banks_are_not_offered(learner, world, db):
    bank, q = one_question_bank()
    bank.status = "archived"
    db.session.commit()
    assert bank.name not in learner.get("/practice/").text
    assert learner.get(f"/practice/bank/{bank.id}").status_code == 404
    assert learner.get(f"/practice/question/{q.id}").status_code == 404


def test_another_users_wrong_book_is_not_visible(app, learner, world, db):
    bank, q = one_question_bank()
    answer(learner, q.id, ["A"])
    other_person = factories.person(world.ent_b1, "乙镇学员")
    factories.user(other_person.mobile, RoleGrant(role="learner"), person_obj=other_person, mobile_login=True)
    db.session.commit()
    other = sign_in(app, other_person.mobile)
    book = other.get("/practice/wrong").text
    assert q.stem not in book and "错题本是空的" in book
    assert 'class="badge text-bg-danger">0<' in other.get("/practice/").text
    # Answering right does not touch the first learner's entry.
    answer(other, q.id, ["B"])
    assert wrong_entry(world.users["learner"], q).resolved is False


def test_empty_and_invalid_answers(learner, world, db):
    bank, q = one_question_bank()
    resp = answer(learner, q.id, [])
    assert resp.status_code == 200 and 'id="answer-error"' in resp.text and "请先选择答案" in resp.text
    assert "独有标记XYZ" not in resp.text
    assert answer(learner, q.id, ["A", "B"]).status_code == 400  # two answers to a single-choice question
    assert answer(learner, q.id, ["Z"]).status_code == 400
    assert db.session.scalar(select(func.count(WrongAnswer.id))) == 0
    assert learner.post(f"/practice/question/{q.id}", data={"answer": "B"}).status_code == 400  # no CSRF token


def test_stems_are_escaped(learner, world, db):
    bank = bank_service.new_bank("转义测试", None)
    q = add_question(bank, "single", "<script>alert(1)</script>哪个正确？", ["<b>甲</b>", "乙"], "A")
    page = learner.get(f"/practice/question/{q.id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>甲</b>" not in page and "&lt;b&gt;甲&lt;/b&gt;" in page
    feedback = answer(learner, q.id, ["A"]).text
    assert "<script>alert(1)</script>" not in feedback


def test_banks_for_the_learners_audience_come_first(learner, world, db):
    for_others, _q1 = one_question_bank(name="面向特种作业人员", audiences=["special_worker"])
    for_me, _q2 = one_question_bank(name="面向主要负责人", audiences=["principal"])
    for_all, _q3 = one_question_bank(name="面向所有人")
    page = learner.get("/practice/").text
    suggested = page[page.index('id="suggested-banks"'):page.index('id="other-banks"')]
    others = page[page.index('id="other-banks"'):]
    assert "面向主要负责人" in suggested and "面向所有人" in suggested and "面向特种作业人员" not in suggested
    assert "面向特种作业人员" in others
    assert re.search(r'面向所有人</span>.*?1 题', suggested, re.S)


def test_practice_needs_a_person(app, world, db):
    trainer = sign_in(app, "trainer")
    assert trainer.get("/practice/").status_code == 403
    assert trainer.get("/practice/wrong").status_code == 403
    assert app.test_client().get("/practice/").status_code == 302  # to the sign-in page
