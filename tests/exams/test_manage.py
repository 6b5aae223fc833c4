"""Defining exams: the form (blueprint and fixed paper), shortfalls, validation, publish/close, access.

Access rule under test: the owner (trainer or manager who created it) and admins manage an exam;
anyone else with a managing role gets 403 on its pages and actions; an unknown exam is 404.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from
from trainapp.audit import AuditEvent
from trainapp.auth.models import RoleGrant
from trainapp.exams import service
from trainapp.exams.models import Exam, ExamFixedQuestion, ExamPart
from trainapp.extensions import db as _db
from trainapp.questionbank import service as bank_service
from trainapp.questionbank.models import Question, join_tags, stem_hash

NEW = "/exams/manage/new"


def make_bank(name="管理测试题库", singles=5, multiples=3, truefalse=3, tagged_singles=2):
    bank = bank_service.new_bank(name, None)
    ids = []
    for qtype, count, options, answer in (("single", singles, ["甲", "乙", "丙", "丁"], "A"),
                                          ("multiple", multiples, ["甲", "乙", "丙", "丁"], "AC"),
                                          ("truefalse", truefalse, [], "T")):
        for i in range(count):
            stem = f"{name}{qtype}{i}"
            tags = ["动火"] if qtype == "single" and i < tagged_singles else []
            q = Question(bank_id=bank.id, qtype=qtype, stem=stem, stem_hash=stem_hash(stem), options=list(options),
                         answer=answer, explanation="", source="", tags=join_tags(tags), status="active", version=1,
                         times_answered=0, times_correct=0, difficulty=1 if i == 0 else 2)
            _db.session.add(q)
            _db.session.flush()
            ids.append(q.id)
    _db.session.commit()
    return bank, ids


def form_data(bank_id=0, parts=(), **overrides) -> dict:
    """A complete, valid exam form; `parts` are (qtype, count, tag, difficulty) rows of `bank_id`."""
    data = {
        "title": "动火作业考试", "description": "说明", "subject": "hazard_industry_trade", "mode": "blueprint",
        "question_ids": "", "points_single": "2", "points_multiple": "3", "points_truefalse": "1",
        "time_limit_minutes": "45", "pass_percent": "60", "max_attempts": "2", "retry_wait_minutes": "10",
        "counts": "highest", "opens_at": "", "closes_at": "", "shuffle_questions": "y", "shuffle_options": "y",
        "layout": "one", "review_content": "full", "review_when": "immediately", "certificate_template": "",
    }
    for i in range(8):
        qtype, count, tag, difficulty = parts[i] if i < len(parts) else ("single", "", "", 0)
        data.update({f"parts-{i}-bank_id": str(bank_id if i < len(parts) else 0), f"parts-{i}-qtype": qtype,
                     f"parts-{i}-count": str(count), f"parts-{i}-tag": tag,
                     f"parts-{i}-difficulty": str(difficulty)})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit_form(client, url, data):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def post_action(client, exam_id, action):
    page = client.get(f"/exams/manage/{exam_id}")
    return client.post(f"/exams/manage/{exam_id}/{action}", data={"csrf_token": csrf_from(page.text)})


def only_exam() -> Exam:
    exams = _db.session.scalars(select(Exam)).all()
    assert len(exams) == 1
    return exams[0]


def only_exam_count() -> int:
    return len(_db.session.scalars(select(Exam)).all())


def test_trainer_creates_blueprint_exam(client, world, login, db):
    from trainapp.certificates.models import CertificateTemplate

    bank, _ids = make_bank()
    db.session.add(CertificateTemplate(code="cert-a", name="三年证书", validity_kind="rolling", validity_years=3))
    db.session.commit()
    login("trainer")
    unknown = submit_form(client, NEW, form_data(bank.id, parts=[("single", 1, "", 0)], certificate_template="nope"))
    assert unknown.status_code == 200 and only_exam_count() == 0
    data = form_data(bank.id, parts=[("single", 2, "动火", 0), ("multiple", 2, "", 2), ("truefalse", 3, "", 0)],
                     audiences=["principal", "safety_manager"], sectors=[str(world.trade.id), str(world.chem.id)],
                     shuffle_options=None, partial_credit="y", counts="last", layout="all",
                     review_content="answers", review_when="after_close", certificate_template="cert-a")
    resp = submit_form(client, NEW, data)
    assert resp.status_code == 302
    exam = only_exam()
    assert resp.headers["Location"].endswith(f"/exams/manage/{exam.id}")
    assert exam.owner_id == world.users["trainer"].id and exam.status == "draft"
    assert exam.title == "动火作业考试" and exam.subject == "hazard_industry_trade" and not exam.fixed_paper
    assert [(p.position, p.bank_id, p.qtype, p.count, p.tag, p.difficulty) for p in exam.parts] == [
        (1, bank.id, "single", 2, "动火", None), (2, bank.id, "multiple", 2, "", 2), (3, bank.id, "truefalse", 3, "", None)]
    assert sorted(exam.audiences) == ["principal", "safety_manager"]
    assert [s.id for s in exam.sectors] == sorted([world.trade.id, world.chem.id])
    assert (exam.time_limit_minutes, exam.pass_percent, exam.max_attempts, exam.retry_wait_minutes) == (45, 60, 2, 10)
    assert exam.partial_credit and exam.counts == "last" and not exam.one_per_page
    assert exam.shuffle_questions and not exam.shuffle_options
    assert (exam.review_content, exam.review_when, exam.certificate_template) == ("answers", "after_close", "cert-a")
    assert exam.opens_at is None and exam.closes_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "exam"))
    assert (event.action, event.entity_id, event.actor_id) == ("create", exam.id, world.users["trainer"].id)
    page = client.get(f"/exams/manage/{exam.id}")
    assert page.status_code == 200 and "动火作业考试" in page.text and "草稿" in page.text
    assert "标签 动火" in page.text and "主要负责人" in page.text


def test_fixed_paper_keeps_the_given_order(client, world, login, db):
    bank, ids = make_bank()
    login("trainer")
    chosen = [ids[3], ids[0], ids[7]]
    resp = submit_form(client, NEW, form_data(mode="fixed", question_ids=f"#{chosen[0]}, {chosen[1]}\n#{chosen[2]}"))
    assert resp.status_code == 302
    exam = only_exam()
    assert exam.fixed_paper and exam.parts == []
    assert [f.question_id for f in exam.fixed_questions] == chosen
    assert [f.position for f in exam.fixed_questions] == [1, 2, 3]
    # Re-ordering keeps rows unique per question (the same question may stay in the paper).
    edit = f"/exams/manage/{exam.id}/edit"
    assert submit_form(client, edit, form_data(mode="fixed", question_ids=f"{chosen[2]} {chosen[0]}")).status_code == 302
    db.session.expire_all()
    assert [f.question_id for f in only_exam().fixed_questions] == [chosen[2], chosen[0]]
    assert db.session.scalar(select(func.count(ExamFixedQuestion.id))) == 2


def test_fixed_paper_rejects_unknown_repeated_and_retired_questions(client, world, login, db):
    bank, ids = make_bank()
    login("trainer")
    resp = submit_form(client, NEW, form_data(mode="fixed", question_ids=f"{ids[0]}, 99999"))
    assert resp.status_code == 200 and "没有这些编号的题目：#99999" in resp.text
    resp = submit_form(client, NEW, form_data(mode="fixed", question_ids=f"{ids[0]}, {ids[1]}, {ids[0]}"))
    assert resp.status_code == 200 and f"题号重复：#{ids[0]}" in resp.text
    resp = submit_form(client, NEW, form_data(mode="fixed", question_ids="一, 二"))
    assert resp.status_code == 200 and "题号只能包含数字" in resp.text
    resp = submit_form(client, NEW, form_data(mode="fixed", question_ids=""))
    assert resp.status_code == 200 and "固定试卷至少要有一道题" in resp.text
    db.session.get(Question, ids[1]).status = "retired"
    db.session.commit()
    resp = submit_form(client, NEW, form_data(mode="fixed", question_ids=f"{ids[0]}, {ids[1]}"))
    assert resp.status_code == 200 and "固定试卷中有 1 道题已停用" in resp.text
    assert db.session.scalar(select(func.count(Exam.id))) == 0


def test_blueprint_the_banks_cannot_fill_is_rejected_naming_the_part(client, world, login, db):
    bank, _ids = make_bank(singles=5, multiples=3)
    login("trainer")
    resp = submit_form(client, NEW, form_data(bank.id, parts=[("single", 9, "", 0), ("multiple", 2, "", 0)]))
    assert resp.status_code == 200
    assert 'id="shortfalls"' in resp.text
    assert "第 1 部分（管理测试题库，单选题）需要 9 题，只有 5 题可用" in resp.text
    assert "第 2 部分" not in resp.text  # the part that can be filled is not blamed
    assert db.session.scalar(select(func.count(Exam.id))) == 0
    assert db.session.scalar(select(func.count(ExamPart.id))) == 0
    # A tag or difficulty narrows the pool: 2 tagged singles only.
    resp = submit_form(client, NEW, form_data(bank.id, parts=[("multiple", 1, "", 0), ("single", 3, "动火", 0)]))
    assert "第 2 部分（管理测试题库，单选题，标签 动火）需要 3 题，只有 2 题可用" in resp.text
    assert db.session.scalar(select(func.count(Exam.id))) == 0


def test_failed_edit_leaves_the_saved_exam_alone(client, world, login, db):
    bank, _ids = make_bank(singles=5)
    login("trainer")
    assert submit_form(client, NEW, form_data(bank.id, parts=[("single", 4, "", 0)])).status_code == 302
    exam = only_exam()
    edit = f"/exams/manage/{exam.id}/edit"
    resp = submit_form(client, edit, form_data(bank.id, parts=[("single", 6, "", 0)], title="改名"))
    assert resp.status_code == 200 and "需要 6 题，只有 5 题可用" in resp.text
    db.session.expire_all()
    exam = only_exam()
    assert exam.title == "动火作业考试" and [(p.qtype, p.count) for p in exam.parts] == [("single", 4)]
    assert submit_form(client, edit, form_data(bank.id, parts=[("truefalse", 2, "", 0)], title="改名")).status_code == 302
    db.session.expire_all()
    exam = only_exam()
    assert exam.title == "改名" and [(p.qtype, p.count) for p in exam.parts] == [("truefalse", 2)]
    assert db.session.scalar(select(func.count(ExamPart.id))) == 1
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "exam")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["create", "update"]


def test_field_errors_are_shown(client, world, login, db):
    bank, _ids = make_bank()
    login("trainer")
    resp = submit_form(client, NEW, form_data(bank.id, parts=[("single", 2, "", 0)], title="", time_limit_minutes="0",
                                              pass_percent="120", max_attempts="-1", points_single="0"))
    assert resp.status_code == 200 and 'id="form-errors"' in resp.text
    assert resp.text.count("is-invalid") >= 5
    # A row with a count but no bank, and one with a bank but no count.
    data = form_data(bank.id, parts=[("single", 2, "", 0), ("single", "", "", 0)])
    data["parts-2-count"] = "3"
    resp = submit_form(client, NEW, data)
    assert resp.status_code == 200 and "请填写题数" in resp.text and "请选择题库" in resp.text
    resp = submit_form(client, NEW, form_data(bank.id, parts=[]))
    assert resp.status_code == 200 and "组卷规则至少要有一部分" in resp.text
    assert db.session.scalar(select(func.count(Exam.id))) == 0


def test_blank_rows_are_ignored_wherever_they_are(client, world, login, db):
    bank, _ids = make_bank()
    login("trainer")
    data = form_data(bank.id, parts=[])
    data.update({"parts-3-bank_id": str(bank.id), "parts-3-qtype": "truefalse", "parts-3-count": "2"})
    assert submit_form(client, NEW, data).status_code == 302
    assert [(p.position, p.qtype, p.count) for p in only_exam().parts] == [(1, "truefalse", 2)]


def test_window_is_local_time_stored_as_utc_and_must_be_ordered(client, world, login, db):
    bank, _ids = make_bank()
    login("trainer")
    parts = [("single", 1, "", 0)]
    resp = submit_form(client, NEW, form_data(bank.id, parts=parts, opens_at="2030-03-01T09:00",
                                              closes_at="2030-03-01T08:00"))
    assert resp.status_code == 200 and "截止时间必须晚于开始时间" in resp.text
    resp = submit_form(client, NEW, form_data(bank.id, parts=parts, opens_at="2030-03-01T09:00",
                                              closes_at="2030-03-01T09:00"))
    assert "截止时间必须晚于开始时间" in resp.text
    resp = submit_form(client, NEW, form_data(bank.id, parts=parts, opens_at="not a date"))
    assert resp.status_code == 200 and db.session.scalar(select(func.count(Exam.id))) == 0
    resp = submit_form(client, NEW, form_data(bank.id, parts=parts, opens_at="2030-03-01T09:00",
                                              closes_at="2030-03-02T17:30"))
    assert resp.status_code == 302
    exam = only_exam()
    assert exam.opens == dt.datetime(2030, 3, 1, 1, 0, tzinfo=dt.timezone.utc)
    assert exam.closes == dt.datetime(2030, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
    # The edit form shows them back in local time.
    page = client.get(f"/exams/manage/{exam.id}/edit")
    assert 'name="opens_at" type="datetime-local" value="2030-03-01T09:00"' in page.text
    assert 'name="closes_at" type="datetime-local" value="2030-03-02T17:30"' in page.text


def test_edit_form_is_prefilled(client, world, login, db):
    bank, ids = make_bank()
    login("trainer")
    submit_form(client, NEW, form_data(bank.id, parts=[("multiple", 2, "", 2)], audiences=["staff"],
                                       sectors=[str(world.dust.id)], title="预填考试"))
    exam = only_exam()
    page = client.get(f"/exams/manage/{exam.id}/edit").text
    assert 'value="预填考试"' in page
    assert f'name="parts-0-bank_id"><option value="0">—</option><option selected value="{bank.id}">' in page
    assert '<option selected value="multiple">' in page and '<option selected value="2">中</option>' in page
    assert 'name="parts-0-count" type="number" value="2"' in page
    assert 'name="parts-1-bank_id"><option selected value="0">' in page
    assert '<input checked id="audiences-7" name="audiences" type="checkbox" value="staff">' in page
    assert f'<input checked id="sectors-1" name="sectors" type="checkbox" value="{world.dust.id}">' in page
    assert f'<input id="sectors-0" name="sectors" type="checkbox" value="{world.trade.id}">' in page


def test_publish_and_close(client, world, login, db):
    bank, ids = make_bank()
    login("trainer")
    submit_form(client, NEW, form_data(bank.id, parts=[("single", 3, "", 0)]))
    exam = only_exam()
    resp = post_action(client, exam.id, "publish")
    assert resp.status_code == 302
    db.session.expire_all()
    assert only_exam().status == "published"
    page = client.get(f"/exams/manage/{exam.id}")
    assert "已发布" in page.text and 'id="close-button"' in page.text
    assert post_action(client, exam.id, "close").status_code == 302
    db.session.expire_all()
    assert only_exam().status == "closed"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "exam")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["create", "publish", "close"]
    # Without the CSRF token nothing happens.
    assert client.post(f"/exams/manage/{exam.id}/publish").status_code == 400
    db.session.expire_all()
    assert only_exam().status == "closed"


def test_publish_is_refused_when_the_banks_run_short(client, world, login, db):
    bank, ids = make_bank(singles=3)
    login("trainer")
    submit_form(client, NEW, form_data(bank.id, parts=[("single", 3, "", 0)]))
    exam = only_exam()
    singles = db.session.scalars(select(Question).where(Question.qtype == "single")).all()
    singles[0].status = "retired"
    db.session.commit()
    resp = post_action(client, exam.id, "publish")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert "无法发布" in page.text and "第 1 部分（管理测试题库，单选题）需要 3 题，只有 2 题可用" in page.text
    db.session.expire_all()
    assert only_exam().status == "draft"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "publish")) == 0


def test_editing_an_exam_with_attempts_warns(client, world, login, db):
    bank, ids = make_bank()
    login("trainer")
    submit_form(client, NEW, form_data(bank.id, parts=[("truefalse", 2, "", 0)]))
    exam = only_exam()
    page = client.get(f"/exams/manage/{exam.id}/edit")
    assert 'id="attempts-warning"' not in page.text
    post_action(client, exam.id, "publish")
    db.session.expire_all()
    service.start_attempt(world.users["learner"], only_exam(), rng=random.Random(3))
    page = client.get(f"/exams/manage/{exam.id}/edit")
    assert 'id="attempts-warning"' in page.text and "已经生成的试卷和成绩不会改变" in page.text
    assert submit_form(client, f"/exams/manage/{exam.id}/edit",
                       form_data(bank.id, parts=[("truefalse", 3, "", 0)])).status_code == 302
    detail = client.get(f"/exams/manage/{exam.id}")
    assert 'id="exam-counts"' in detail.text


def test_only_the_owner_and_admins_manage_an_exam(client, world, login, db, app):
    bank, ids = make_bank()
    factories.user("trainer2", RoleGrant(role="trainer"))
    db.session.commit()
    login("trainer")
    submit_form(client, NEW, form_data(bank.id, parts=[("single", 1, "", 0)], title="讲师的考试"))
    exam = only_exam()
    for other in ("trainer2", "manager_a"):
        c = app.test_client()
        page = c.get("/auth/login")
        c.post("/auth/login", data={"login": other, "password": factories.PASSWORD, "csrf_token": csrf_from(page.text)})
        assert c.get(f"/exams/manage/{exam.id}/edit").status_code == 403
        assert c.get(f"/exams/manage/{exam.id}").status_code == 403
        token = csrf_from(c.get("/exams/manage/").text)
        assert c.post(f"/exams/manage/{exam.id}/publish", data={"csrf_token": token}).status_code == 403
        assert c.post(f"/exams/manage/{exam.id}/edit", data={**form_data(bank.id, parts=[("single", 1, "", 0)]),
                                                             "csrf_token": token}).status_code == 403
        assert "讲师的考试" not in c.get("/exams/manage/").text  # drafts of others are not listed
        assert c.get("/exams/manage/999999").status_code == 404
    db.session.expire_all()
    assert only_exam().status == "draft" and only_exam().title == "讲师的考试"
    admin = app.test_client()
    page = admin.get("/auth/login")
    admin.post("/auth/login", data={"login": "admin", "password": factories.PASSWORD,
                                    "csrf_token": csrf_from(page.text)})
    assert admin.get(f"/exams/manage/{exam.id}/edit").status_code == 200
    assert "讲师的考试" in admin.get("/exams/manage/").text
    learner = app.test_client()
    page = learner.get("/auth/login")
    learner.post("/auth/login", data={"login": world.users["learner"].mobile, "password": factories.PASSWORD,
                                      "csrf_token": csrf_from(page.text)})
    assert learner.get("/exams/manage/").status_code == 403
    assert learner.get(NEW).status_code == 403
    assert learner.get(f"/exams/manage/{exam.id}").status_code == 403
    assert "讲师的考试" in client.get("/exams/manage/").text


def test_managers_create_their_own_exams(client, world, login, db):
    bank, ids = make_bank()
    login("manager_a")
    assert submit_form(client, NEW, form_data(bank.id, parts=[("single", 1, "", 0)])).status_code == 302
    assert only_exam().owner_id == world.users["manager_a"].id
