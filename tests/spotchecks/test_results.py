"""Results: per check (who, scores, most-missed questions), per street and sector, weakest questions; the
archives; oral questions and notes; starting a check from the form."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select, true

from tests.conftest import csrf_from, post_form
from tests.spotchecks.helpers import form_data, key_answers, later, make_check, post_answers, standard_bank, wrong_answers
from trainapp.auth.scope import enterprise_criterion
from trainapp.extensions import db
from trainapp.questionbank.models import QuestionVersion
from trainapp.spotchecks import service
from trainapp.spotchecks.models import SpotCheck, SpotCheckOral, SpotCheckPreset


def answer(check, name, answers, last4="1234", now=None):
    out = service.submit(check, name, last4, answers, now)
    assert out.status == "submitted", out
    db.session.commit()
    return out.answer


def test_results_of_one_check_put_the_most_missed_question_first(world):
    check = make_check(world, count=3, seed=2)
    right, wrong = key_answers(check), wrong_answers(check)
    answer(check, "甲", right)
    answer(check, "乙", {1: right[1], 2: wrong[2], 3: wrong[3]})
    answer(check, "丙", {1: right[1], 2: right[2], 3: wrong[3]})
    res = service.results(check)
    assert [(q.position, q.correct, q.answered) for q in res.questions] == [(3, 1, 3), (2, 2, 3), (1, 3, 3)]
    assert res.mean_percent == round((100 + 100 / 3 + 200 / 3) / 3, 1)


def test_inspector_page_lists_who_answered_and_the_questions(world, client, login, app):
    check = make_check(world, count=2)
    post_answers(app.test_client(), check, form_data(key_answers(check), person=world.staff_a1))
    login("manager_a")
    page = client.get(f"/spotchecks/{check.id}").text
    row = re.search(r'<tr data-answer-name="甲一员工" data-match="matched">.*?</tr>', page, re.S).group(0)
    assert "2 / 2" in row and f"/archive/people/{world.staff_a1.id}" in row
    assert page.count('data-missed="0"') == 2
    live = client.get(f"/spotchecks/{check.id}/live").text
    assert 'data-answer-name="甲一员工"' in live and "<html" not in live


def test_summary_per_street_and_sector_in_a_date_range(world):
    bank = standard_bank(world)
    t0 = dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.timezone.utc)
    a1 = make_check(world, world.ent_a1, bank=bank, now=t0)
    a1b = make_check(world, world.ent_a1, bank=bank, now=t0 + dt.timedelta(days=1))
    b1 = make_check(world, world.ent_b1, bank=bank, now=t0)
    make_check(world, world.ent_b1, bank=bank, now=t0 + dt.timedelta(days=60))  # outside the range
    right, wrong = key_answers(a1), wrong_answers(a1)
    answer(a1, "甲一员工", right, world.staff_a1.mobile[-4:], t0)
    answer(a1, "外包", wrong, "1111", t0)
    answer(b1, "外包", key_answers(b1), "1111", t0)
    rows = service.spot_check_summary(true(), dt.date(2026, 4, 1), dt.date(2026, 5, 1))
    got = [(r.street, r.sector, r.checks, r.answers, r.matched, r.mean_percent) for r in rows]
    assert got == [("甲街道", "粉尘涉爆", 2, 2, 1, 50.0), ("乙镇", "工贸", 1, 1, 0, 100.0)]
    assert a1b.id  # a check without answers still counts as a check
    # Scoped: manager A sees street A only; the end date is excluded.
    scoped = service.spot_check_summary(enterprise_criterion(world.users["manager_a"]), dt.date(2026, 4, 1),
                                        dt.date(2026, 4, 2))
    assert [(r.street, r.checks, r.answers) for r in scoped] == [("甲街道", 1, 2)]
    # Datetimes are taken as given.
    assert service.spot_check_summary(true(), t0 + dt.timedelta(seconds=1), t0 + dt.timedelta(days=2))[0].checks == 1


def test_weakest_questions_need_enough_answers(world):
    check = make_check(world, count=2, seed=4)
    right, wrong = key_answers(check), wrong_answers(check)
    for i in range(3):
        answer(check, f"工人{i}", {1: wrong[1], 2: right[2]}, f"100{i}")
    weak = service.weakest_questions(true(), later(-60), later(60))
    qid = [q.version.question_id for q in check.questions]
    assert [(w.question_id, w.correct, w.answered) for w in weak] == [(qid[0], 0, 3), (qid[1], 3, 3)]
    assert service.weakest_questions(true(), later(-60), later(60), min_answers=4) == []


def test_summary_page_is_scoped_and_lists_weak_questions(world, client, login):
    bank = standard_bank(world)
    a1 = make_check(world, world.ent_a1, bank=bank)
    b1 = make_check(world, world.ent_b1, bank=bank)
    for i in range(3):
        answer(a1, f"甲{i}", wrong_answers(a1), f"200{i}")
        answer(b1, f"乙{i}", key_answers(b1), f"300{i}")
    login("manager_a")
    page = client.get("/spotchecks/summary").text
    assert "甲街道" in page and "乙镇" not in page.split('id="summary-table"')[1].split("</table>")[0]
    assert page.count("<li class=\"mb-2\" data-question=") == 5
    bad = client.get("/spotchecks/summary?start=not-a-date&end=2026-13-40&street=x")
    assert bad.status_code == 200


def test_archives_show_spot_checks(world, client, login, app):
    check = make_check(world)
    post_answers(app.test_client(), check, form_data(key_answers(check), person=world.staff_a1))
    service.add_oral(check, "动火作业前要做什么？", "poor", "甲一员工", person_id=world.staff_a1.id)
    db.session.commit()
    login("entadmin_a1")
    person_page = client.get(f"/archive/people/{world.staff_a1.id}").text
    assert 'id="spot-check-answers"' in person_page and "5 / 5" in person_page
    assert f"/spotchecks/{check.id}" in person_page and "动火作业前要做什么？" in person_page
    ent_page = client.get(f"/archive/enterprises/{world.ent_a1.id}").text
    lines = ent_page.split('id="spot-check-lines"')[1].split("</table>")[0]
    assert f"/spotchecks/{check.id}" in lines and "100.0%" in lines
    other = client.get(f"/archive/people/{world.staff_a2.id}")
    assert other.status_code == 404


def test_oral_questions_and_notes(world, client, login):
    check = make_check(world)
    login("manager_a")
    page = client.get(f"/spotchecks/{check.id}").text
    token = csrf_from(page)
    resp = client.post(f"/spotchecks/{check.id}/oral", data={
        "csrf_token": token, "question": "有限空间作业“先通风、再检测、后作业”是什么意思？",
        "person_id": world.staff_a1.id, "quality": "fair", "note": "需加强"})
    assert resp.status_code == 302
    oral = db.session.scalar(select(SpotCheckOral))
    assert (oral.person_id, oral.answered_by, oral.quality) == (world.staff_a1.id, "甲一员工", "fair")
    # Someone from another enterprise cannot be named as the answerer.
    bad = client.post(f"/spotchecks/{check.id}/oral", data={
        "csrf_token": token, "question": "问", "person_id": world.staff_b1.id, "quality": "good"})
    assert bad.status_code == 400 and "is-invalid" in bad.text
    empty = client.post(f"/spotchecks/{check.id}/oral", data={"csrf_token": token, "question": "", "quality": "x"})
    assert empty.status_code == 400
    assert db.session.scalar(select(func.count(SpotCheckOral.id))) == 1
    assert client.post(f"/spotchecks/{check.id}/notes", data={"csrf_token": token, "notes": "消防通道堵塞"}).status_code == 302
    db.session.refresh(check)
    assert check.notes == "消防通道堵塞"
    assert client.post(f"/spotchecks/{check.id}/oral/{oral.id}/delete", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(select(func.count(SpotCheckOral.id))) == 0


def test_starting_a_check_draws_from_the_sector_standard_and_saves_a_preset(world, client, login):
    standard = standard_bank(world)
    login("manager_a")
    url = f"/spotchecks/new?enterprise={world.ent_a1.id}"
    page = client.get(url).text
    assert standard.name in page
    resp = client.post(url, data={"csrf_token": csrf_from(page), "paper": "std", "count": 5, "minutes": 20,
                                  "preset_name": "五题快考"})
    assert resp.status_code == 302
    check = db.session.scalar(select(SpotCheck))
    assert len(check.questions) == 5 and check.enterprise_id == world.ent_a1.id
    assert service.aware(check.closes_at) - service.aware(check.opens_at) == dt.timedelta(minutes=20)
    versions = db.session.scalars(select(QuestionVersion).where(
        QuestionVersion.id.in_([q.version_id for q in check.questions]))).all()
    assert {v.question.bank_id for v in versions} == {standard.id}  # frozen copies of the standard's questions
    preset = db.session.scalar(select(SpotCheckPreset))
    assert (preset.name, preset.bank_id, preset.count) == ("五题快考", None, 5)
    detail = client.get(resp.headers["Location"]).text
    assert 'id="spot-qr"' in detail and check.token in detail
    # The preset is offered next time and used with its own count.
    page = client.get(url).text
    assert f'value="p:{preset.id}"' in page
    client.post(url, data={"csrf_token": csrf_from(page), "paper": f"p:{preset.id}", "count": 1, "minutes": 30})
    newest = db.session.scalars(select(SpotCheck).order_by(SpotCheck.id.desc())).first()
    assert len(newest.questions) == 5


def test_start_form_errors_are_shown_by_field(world, client, login):
    small = standard_bank(world, singles=2, multiples=0, truefalse=0)
    login("manager_a")
    url = f"/spotchecks/new?enterprise={world.ent_a1.id}"
    token = csrf_from(client.get(url).text)
    too_many = client.post(url, data={"csrf_token": token, "paper": f"b:{small.id}", "count": 5, "minutes": 30})
    assert too_many.status_code == 200 and "只有 2 道可用的题目" in too_many.text
    for bad in ({"count": 0}, {"count": 99}, {"minutes": 1}, {"paper": "b:999999"}, {"paper": "zzz"},
                {"count": "five"}):
        resp = client.post(url, data={"csrf_token": token, "paper": "std", "count": 3, "minutes": 30, **bad})
        assert resp.status_code == 200 and "is-invalid" in resp.text, bad
    assert db.session.scalar(select(func.count(SpotCheck.id))) == 0


def test_no_standard_bank_for_the_sector_is_a_form_error(world, client, login):
    login("manager_a")
    url = f"/spotchecks/new?enterprise={world.ent_a2.id}"  # 危化: no bank for it in this world
    resp = post_form(client, url, {"paper": "std", "count": 3, "minutes": 30}, page_url=url)
    assert resp.status_code == 200 and "没有适用于该单位行业的隐患判定标准题库" in resp.text


def test_presets_are_deleted_by_their_owner_only(world, client, login):
    other = SpotCheckPreset(name="别人的", count=3, tag="", owner_id=world.users["manager_b"].id)
    mine = SpotCheckPreset(name="我的", count=3, tag="", owner_id=world.users["manager_a"].id)
    db.session.add_all([other, mine])
    db.session.commit()
    login("manager_a")
    page = client.get(f"/spotchecks/new?enterprise={world.ent_a1.id}").text
    assert "我的" in page.split('id="my-presets"')[1] and "别人的" not in page.split('id="my-presets"')[1]
    token = csrf_from(page)
    assert client.post(f"/spotchecks/presets/{other.id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/spotchecks/presets/{mine.id}/delete", data={"csrf_token": token}).status_code == 302
    assert [p.name for p in db.session.scalars(select(SpotCheckPreset))] == ["别人的"]
