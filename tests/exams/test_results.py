"""Results and item analysis: who sees which rows, filters, the counted attempt, export, sweeping."""
from __future__ import annotations

import datetime as dt
import io
import random
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_from
from trainapp.auth.models import RoleGrant
from trainapp.exams import analysis, service
from trainapp.exams.models import Attempt, Exam, ExamFixedQuestion
from trainapp.extensions import db as _db
from trainapp.questionbank import service as bank_service
from trainapp.questionbank.models import Question, stem_hash

T0 = dt.datetime(2030, 5, 6, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in Shanghai
NAME = re.compile(r'class="result-name">([^<]+)<')


def tf_bank(n: int, name: str = "成绩测试题库") -> list[int]:
    bank = bank_service.new_bank(name, None)
    ids = []
    for i in range(n):
        stem = f"判断题{i + 1}：动火作业必须审批"
        q = Question(bank_id=bank.id, qtype="truefalse", stem=stem, stem_hash=stem_hash(stem), options=[],
                     answer="T", explanation="", source="", tags="", status="active", version=1,
                     times_answered=0, times_correct=0)
        _db.session.add(q)
        _db.session.flush()
        ids.append(q.id)
    _db.session.commit()
    return ids


def fixed_exam(question_ids: list[int], owner, **settings) -> Exam:
    values = dict(title="成绩测试考试", status="published", fixed_paper=True, shuffle_questions=False,
                  shuffle_options=False, time_limit_minutes=30, pass_percent=60, max_attempts=0, retry_wait_minutes=0,
                  counts="highest", points_truefalse=1, audiences=[], owner_id=owner.id, review_content="full",
                  review_when="immediately")
    values.update(settings)
    exam = Exam(**values)
    exam.fixed_questions = [ExamFixedQuestion(question_id=q, position=i) for i, q in enumerate(question_ids, 1)]
    _db.session.add(exam)
    _db.session.commit()
    return exam


def learner_for(person):
    user = factories.user(person.mobile, RoleGrant(role="learner"), person_obj=person, mobile_login=True)
    _db.session.commit()
    return user


def new_learner(ent, name, audience="staff"):
    return learner_for(factories.person(ent, name, audience=audience))


def take(user, exam, pattern: str, at: dt.datetime = T0) -> Attempt:
    """Answer position i right ('1') or wrong ('0'); submit a minute later."""
    attempt = service.start_attempt(user, exam, now=at, rng=random.Random(0))
    for position, ch in enumerate(pattern, 1):
        service.save_answer(attempt, position, "T" if ch == "1" else "F", now=at)
    service.submit(attempt, now=at + dt.timedelta(minutes=1))
    _db.session.commit()
    return attempt


def sign_in(app, login: str):
    client = app.test_client()
    page = client.get("/auth/login")
    resp = client.post("/auth/login", data={"login": login, "password": factories.PASSWORD,
                                            "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    return client


def names(html: str) -> list[str]:
    return sorted(NAME.findall(html))


@pytest.fixture
def four(world, db):
    """Four learners in three units and two streets, 100/60/40/20 % on a five-question paper."""
    exam = fixed_exam(tf_bank(5), world.users["trainer"])
    people = {
        "学员甲": (world.users["learner"], "11111"),
        "甲一员工": (learner_for(world.staff_a1), "11100"),
        "甲二员工": (learner_for(world.staff_a2), "11000"),
        "乙一员工": (learner_for(world.staff_b1), "10000"),
    }
    for user, pattern in people.values():
        take(user, exam, pattern)
    return exam


def test_owner_sees_everyone_with_summary(app, world, four, db):
    c = sign_in(app, "trainer")
    page = c.get(f"/exams/manage/{four.id}/results")
    assert page.status_code == 200
    assert names(page.text) == sorted(["学员甲", "甲一员工", "甲二员工", "乙一员工"])
    assert 'id="participants">4<' in page.text
    assert 'id="pass-rate">50.0%<' in page.text  # 100 and 60 pass (60 % is the pass mark)
    assert 'id="average">55.0%<' in page.text
    assert 'id="scope-note"' not in page.text
    row = re.search(r'<tr class="result-row"[^>]*>.*?甲一员工.*?</tr>', page.text, re.S).group(0)
    assert "甲街道粉尘企业" in row and "甲街道" in row and "粉尘涉爆" in row and "3 / 5" in row and "60.0%" in row
    assert "result-passed" in row and "auto-submitted" not in row and '<td class="text-end result-left">0</td>' in row
    assert "2030-05-06 09:01" in row  # submitted time shown in Shanghai time


@pytest.mark.parametrize("viewer, expected", [
    ("manager_a", ["学员甲", "甲一员工", "甲二员工"]),
    ("manager_b", ["乙一员工"]),
    ("regulator", ["学员甲", "甲一员工", "乙一员工"]),  # its agency supervises 工贸 (and 粉尘涉爆 under it)
    ("manager_trade", ["学员甲", "甲一员工", "乙一员工"]),
])
def test_scoped_viewers_see_only_their_people(app, world, four, db, viewer, expected):
    c = sign_in(app, viewer)
    page = c.get(f"/exams/manage/{four.id}/results")
    assert page.status_code == 200
    assert names(page.text) == sorted(expected)
    assert f'id="participants">{len(expected)}<' in page.text
    assert 'id="scope-note"' in page.text
    sheet = load_workbook(io.BytesIO(c.get(f"/exams/manage/{four.id}/results.xlsx").data))["成绩"]
    assert sorted(r[0] for r in sheet.iter_rows(min_row=2, values_only=True)) == sorted(expected)


def test_scoped_filter_choices_do_not_leak(app, world, four, db):
    page = sign_in(app, "manager_a").get(f"/exams/manage/{four.id}/results").text
    assert "甲街道粉尘企业" in page and "甲街道化工企业" in page
    assert "乙镇机械企业" not in page and ">乙镇<" not in page
    assert f'<option value="{world.street_a.id}"' in page


def test_pass_rate_for_a_scoped_viewer(app, world, four, db):
    page = sign_in(app, "manager_a").get(f"/exams/manage/{four.id}/results").text
    assert 'id="pass-rate">66.7%<' in page and 'id="average">66.7%<' in page


def test_who_may_not_see_results(app, world, four, db):
    factories.user("trainer2", RoleGrant(role="trainer"))
    db.session.commit()
    for who in ("trainer2", "entadmin_a1", world.users["learner"].mobile):
        c = sign_in(app, who)
        assert c.get(f"/exams/manage/{four.id}/results").status_code == 403
        assert c.get(f"/exams/manage/{four.id}/results.xlsx").status_code == 403
    assert sign_in(app, "manager_a").get("/exams/manage/999999/results").status_code == 404
    assert sign_in(app, "admin").get(f"/exams/manage/{four.id}/results").status_code == 200


@pytest.mark.parametrize("query, expected", [
    ("enterprise={a1}", ["学员甲", "甲一员工"]),
    ("street={sb}", ["乙一员工"]),
    ("sector={trade}", ["学员甲", "甲一员工", "乙一员工"]),  # 工贸 includes 粉尘涉爆
    ("sector={chem}", ["甲二员工"]),
    ("audience=principal", ["学员甲"]),
    ("passed=yes", ["学员甲", "甲一员工"]),
    ("passed=no", ["甲二员工", "乙一员工"]),
    ("street={sa}&passed=no", ["甲二员工"]),
])
def test_filters(app, world, four, db, query, expected):
    query = query.format(a1=world.ent_a1.id, sb=world.street_b.id, sa=world.street_a.id, trade=world.trade.id,
                         chem=world.chem.id)
    c = sign_in(app, "trainer")
    page = c.get(f"/exams/manage/{four.id}/results?{query}")
    assert names(page.text) == sorted(expected)
    sheet = load_workbook(io.BytesIO(c.get(f"/exams/manage/{four.id}/results.xlsx?{query}").data))["成绩"]
    assert sorted(r[0] for r in sheet.iter_rows(min_row=2, values_only=True)) == sorted(expected)


def _row_for(html: str, name: str) -> str:
    return re.search(r'<tr class="result-row"[^>]*>(?:(?!</tr>).)*' + name + r'.*?</tr>', html, re.S).group(0)


def test_counted_attempt_highest_or_last(app, world, db):
    exam = fixed_exam(tf_bank(5), world.users["trainer"])
    user = world.users["learner"]
    first = take(user, exam, "11110", T0)
    second = take(user, exam, "11000", T0 + dt.timedelta(hours=1))
    c = sign_in(app, "trainer")
    row = _row_for(c.get(f"/exams/manage/{exam.id}/results").text, "学员甲")
    assert f'data-attempt="{first.id}"' in row and "4 / 5" in row and "result-passed" in row
    assert '<td class="text-end result-used">2</td>' in row
    assert service.counted_attempt(user.id, exam).id == first.id
    exam.counts = "last"
    db.session.commit()
    row = _row_for(c.get(f"/exams/manage/{exam.id}/results").text, "学员甲")
    assert f'data-attempt="{second.id}"' in row and "2 / 5" in row and "result-failed" in row
    assert service.counted_attempt(user.id, exam).id == second.id
    assert 'id="participants">1<' in c.get(f"/exams/manage/{exam.id}/results").text


def test_highest_tie_counts_the_earlier_attempt(app, world, db):
    exam = fixed_exam(tf_bank(5), world.users["trainer"])
    user = world.users["learner"]
    first = take(user, exam, "11100", T0)
    take(user, exam, "00111", T0 + dt.timedelta(hours=1))
    row = _row_for(sign_in(app, "trainer").get(f"/exams/manage/{exam.id}/results").text, "学员甲")
    assert f'data-attempt="{first.id}"' in row
    assert service.counted_attempt(user.id, exam).id == first.id


def test_export_has_results_and_item_analysis(app, world, four, db):
    resp = sign_in(app, "trainer").get(f"/exams/manage/{four.id}/results.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["成绩", "题目分析"]
    results = list(book["成绩"].iter_rows(values_only=True))
    header = results[0]
    assert header[:3] == ("姓名", "单位", "街镇") and "得分率（%）" in header and "离开页面次数" in header
    rows = {r[0]: dict(zip(header, r)) for r in results[1:]}
    assert set(rows) == {"学员甲", "甲一员工", "甲二员工", "乙一员工"}
    assert rows["甲一员工"]["单位"] == "甲街道粉尘企业" and rows["甲一员工"]["得分"] == 3
    assert rows["甲一员工"]["得分率（%）"] == 60 and rows["甲一员工"]["是否及格"] == "是"
    assert rows["乙一员工"]["是否及格"] == "否" and rows["乙一员工"]["人员类别"] == "其他从业人员"
    assert rows["学员甲"]["人员类别"] == "主要负责人"
    assert rows["学员甲"]["交卷时间"] == dt.datetime(2030, 5, 6, 9, 1)  # local time, no zone
    items = list(book["题目分析"].iter_rows(values_only=True))
    assert items[0][0] == "题号" and len(items) == 1 + 5
    by_id = {r[0]: dict(zip(items[0], r)) for r in items[1:]}
    facilities = sorted(r["难度系数（得分率）"] for r in by_id.values())
    assert facilities == [0.25, 0.25, 0.5, 0.75, 1.0]  # right answers per question: 4, 3, 2, 1, 1 of 4
    assert all(r["区分度"] is None and r["作答次数"] == 4 for r in by_id.values())  # fewer than 10 attempts


PATTERNS = ["1111", "1111", "1110", "1100", "1010", "0110", "0101", "0100", "0001", "0000"]


def test_item_analysis_facility_and_discrimination(app, world, db):
    qids = tf_bank(4)
    exam = fixed_exam(qids, world.users["trainer"])
    for i, pattern in enumerate(PATTERNS):
        take(new_learner(world.ent_b1, f"学员{i:02d}"), exam, pattern)
    stats = analysis.item_analysis(exam, None)
    # Top 27 % of 10 = 3 attempts (scores 4, 4, 3); bottom 3 (scores 1, 1, 0).
    assert [s.question_id for s in stats] == [qids[3], qids[0], qids[2], qids[1]]  # hardest first
    got = {s.question_id: (s.answered, s.facility, s.discrimination) for s in stats}
    expected = {qids[0]: (10, 0.5, 1.0), qids[1]: (10, 0.7, 2 / 3), qids[2]: (10, 0.5, 1.0), qids[3]: (10, 0.4, 1 / 3)}
    for qid, (answered, facility, discrimination) in expected.items():
        assert got[qid][0] == answered
        assert got[qid][1] == pytest.approx(facility)
        assert got[qid][2] == pytest.approx(discrimination)
    page = sign_in(app, "trainer").get(f"/exams/manage/{exam.id}/results").text
    assert f'data-question="{qids[1]}" data-facility="0.7000" data-discrimination="0.6667"' in page
    assert f'data-question="{qids[3]}" data-facility="0.4000" data-discrimination="0.3333"' in page
    assert page.index(f'data-question="{qids[3]}"') < page.index(f'data-question="{qids[1]}"')
    # Scoped viewers analyse only their people's attempts: street A has none here.
    assert "data-question=" not in sign_in(app, "manager_a").get(f"/exams/manage/{exam.id}/results").text
    # With one attempt fewer than 10, discrimination is not computed.
    db.session.delete(db.session.scalars(select(Attempt).order_by(Attempt.id.desc())).first())
    db.session.commit()
    assert all(s.discrimination is None for s in analysis.item_analysis(exam, None))


def test_learners_who_never_came_back_are_graded_on_the_results_page(app, world, db):
    exam = fixed_exam(tf_bank(5), world.users["trainer"])
    user = world.users["learner"]
    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    attempt = service.start_attempt(user, exam, now=started, rng=random.Random(0))
    service.save_answer(attempt, 1, "T", now=started + dt.timedelta(minutes=1))
    service.save_answer(attempt, 2, "T", now=started + dt.timedelta(minutes=2))
    service.save_answer(attempt, 3, "F", now=started + dt.timedelta(minutes=3))
    service.log_event(attempt, "leave", now=started + dt.timedelta(minutes=4))
    service.log_event(attempt, "leave", now=started + dt.timedelta(minutes=5))
    db.session.commit()
    assert analysis.summary(analysis.results_statement(exam, None, analysis.Filters())).participants == 0
    page = sign_in(app, "trainer").get(f"/exams/manage/{exam.id}/results").text
    row = _row_for(page, "学员甲")
    assert "auto-submitted" in row and "2 / 5" in row and "result-failed" in row
    assert '<td class="text-end result-left">2</td>' in row and '<td class="text-end result-used">1</td>' in row
    db.session.expire_all()
    stored = db.session.get(Attempt, attempt.id)
    assert stored.status == "submitted" and stored.auto_submitted and stored.score == 2


def test_manager_sees_other_exams_in_the_list(app, world, four, db):
    page = sign_in(app, "manager_a").get("/exams/manage/").text
    assert 'id="other-exams"' in page and "成绩测试考试" in page
    assert f"/exams/manage/{four.id}/results" in page and f"/exams/manage/{four.id}/edit" not in page
    regulator = sign_in(app, "regulator").get("/exams/manage/")
    assert regulator.status_code == 200 and "成绩测试考试" in regulator.text
