"""Learning: catalogue and enrolment, server-measured progress, idle gaps, video coverage, hours, completion."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.certificates.helpers import pass_exam
from tests.conftest import csrf_from
from tests.courses.helpers import make_course
from tests.exams.helpers import make_bank, make_exam
from trainapp.courses import service
from trainapp.courses.models import Enrolment, TrainingRecord

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


def _person(world):
    return world.users["learner"].person


def _beats(enrolment, lesson, seconds, step=15, start=T0, **kw):
    """Beats every `step` seconds for `seconds` seconds; returns the progress."""
    progress = None
    for offset in range(0, seconds + 1, step):
        progress = service.beat(enrolment, lesson, now=start + dt.timedelta(seconds=offset), **kw)
    return progress


def test_time_counts_only_between_close_beats(world, db):
    course = make_course(lessons=(("text", 0.5, 120),))
    enrolment = service.enrol(_person(world), course)
    lesson = course.lessons[0]
    progress = _beats(enrolment, lesson, 60)
    assert progress.active_seconds == 60
    # The page was hidden for ten minutes: the gap earns nothing.
    service.beat(enrolment, lesson, now=T0 + dt.timedelta(minutes=11))
    assert progress.active_seconds == 60
    service.beat(enrolment, lesson, now=T0 + dt.timedelta(minutes=11, seconds=15))
    assert progress.active_seconds == 75


def test_a_text_lesson_needs_its_minimum_time_and_its_end(world, db):
    course = make_course(lessons=(("text", 0.5, 120),))
    enrolment = service.enrol(_person(world), course)
    lesson = course.lessons[0]
    progress = _beats(enrolment, lesson, 90, at_end=True)
    assert progress.reached_end and progress.completed_at is None  # too soon
    progress = _beats(enrolment, lesson, 45, start=T0 + dt.timedelta(seconds=105))
    assert progress.active_seconds >= 120 and progress.completed_at is not None
    records = db.session.scalars(select(TrainingRecord).where(TrainingRecord.kind == "lesson")).all()
    assert [(r.title, r.hours) for r in records] == [(lesson.title, 0.5)]
    # More beats after completion add no second record.
    _beats(enrolment, lesson, 30, start=T0 + dt.timedelta(seconds=200), at_end=True)
    assert db.session.scalar(select(func.count(TrainingRecord.id)).where(TrainingRecord.kind == "lesson")) == 1


def test_reading_without_reaching_the_end_does_not_complete(world, db):
    course = make_course(lessons=(("text", 0.5, 30),))
    enrolment = service.enrol(_person(world), course)
    progress = _beats(enrolment, course.lessons[0], 300)
    assert progress.completed_at is None


def test_video_needs_ninety_percent_watched_no_faster_than_real_time(world, db):
    course = make_course(lessons=(("video", 1.0, 30),), video_seconds=100)
    enrolment = service.enrol(_person(world), course)
    lesson = course.lessons[0]
    # A forged beat claiming the whole video at once marks only what the elapsed time allows.
    service.beat(enrolment, lesson, now=T0)
    progress = service.beat(enrolment, lesson, now=T0 + dt.timedelta(seconds=15), played=list(range(100)))
    assert service.watched_fraction(progress, lesson) <= 0.2
    for i in range(2, 12):
        played = list(range((i - 1) * 15 - 15, (i - 1) * 15))
        progress = service.beat(enrolment, lesson, now=T0 + dt.timedelta(seconds=15 * i), played=played)
    assert progress.completed_at is None or service.watched_fraction(progress, lesson) >= 0.9
    progress = service.beat(enrolment, lesson, now=T0 + dt.timedelta(seconds=15 * 12), played=list(range(85, 100)))
    assert service.watched_fraction(progress, lesson) >= 0.9 and progress.completed_at is not None


def test_course_completes_after_all_lessons_and_the_exam(world, db):
    bank = make_bank()
    exam = make_exam(bank, parts=(("single", 2, ""),))
    course = make_course(lessons=(("text", 0.5, 15),), exam=exam)
    enrolment = service.enrol(_person(world), course)
    _beats(enrolment, course.lessons[0], 30, at_end=True)
    db.session.commit()
    assert enrolment.status == "active"  # the exam is still to pass
    pass_exam(world.users["learner"], exam)
    db.session.refresh(enrolment)
    assert enrolment.status == "completed"
    kinds = sorted(db.session.scalars(select(TrainingRecord.kind)))
    assert kinds == ["course", "exam", "lesson"]


def test_hours_fall_in_the_year_they_were_earned(world, db):
    person = _person(world)
    for day, hours in ((dt.date(2025, 12, 31), 2.0), (dt.date(2026, 1, 1), 3.0), (dt.date(2026, 12, 31), 0.5)):
        db.session.add(TrainingRecord(person_id=person.id, kind="classroom", title="集中培训", hours=hours,
                                      occurred_on=day))
    db.session.commit()
    assert service.hours_in_year(person.id, 2025) == 2.0 and service.hours_in_year(person.id, 2026) == 3.5


def test_records_are_immutable_and_corrections_replace_them_in_the_sum(world, db):
    person = _person(world)
    original = TrainingRecord(person_id=person.id, kind="classroom", title="集中培训", hours=4.0,
                              occurred_on=dt.date(2026, 3, 1))
    db.session.add(original)
    db.session.commit()
    original.hours = 8.0
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    fixed = service.correct(db.session.get(TrainingRecord, original.id), world.users["entadmin_a1"], "学时登记错误",
                            hours=2.0)
    db.session.commit()
    assert fixed.corrects_id == original.id and db.session.get(TrainingRecord, original.id).hours == 4.0
    assert service.hours_in_year(person.id, 2026) == 2.0


def test_catalogue_enrol_and_lesson_pages(client, world, login, db):
    mine = make_course(title="主要负责人课程", audiences=("principal",))
    make_course(title="特种作业课程", audiences=("special_worker",))
    make_course(title="草稿课程", status="draft")
    login(world.users["learner"].mobile)
    page = client.get("/courses/")
    assert "主要负责人课程" in page.text and "特种作业课程" not in page.text and "草稿课程" not in page.text
    lesson_url = f"/courses/{mine.id}/lessons/{mine.lessons[0].id}"
    assert client.get(lesson_url).status_code == 302  # not enrolled yet
    client.post(f"/courses/{mine.id}/enrol", data={"csrf_token": csrf_from(page.text)})
    lesson_page = client.get(lesson_url)
    assert lesson_page.status_code == 200 and "<script>alert(1)</script>" not in lesson_page.text
    token = csrf_from(lesson_page.text)
    beat = client.post(f"{lesson_url}/beat", json={"at_end": True, "played": []}, headers={"X-CSRFToken": token})
    assert beat.status_code == 200 and beat.get_json()["ok"]
    assert client.post(f"{lesson_url}/beat", data="{" + " " * 5000 + "}", content_type="application/json",
                       headers={"X-CSRFToken": token}).status_code == 413
    assert client.post(f"{lesson_url}/beat", json=["x"], headers={"X-CSRFToken": token}).status_code == 400
    other = make_course(title="特种作业课程二", audiences=("special_worker",))
    assert client.get(f"/courses/{other.id}").status_code == 404


def test_assigned_and_due_courses_come_first(world, db):
    from trainapp.courses.views import my_enrolments

    person = _person(world)
    later = service.enrol(person, make_course(title="自学课程"))
    due_late = service.enrol(person, make_course(title="年底前"), source="enterprise", due_on=dt.date(2026, 12, 31))
    due_soon = service.enrol(person, make_course(title="月底前"), source="manager", due_on=dt.date(2026, 11, 30))
    db.session.commit()
    assert [e.id for e in my_enrolments(person.id)] == [due_soon.id, due_late.id, later.id]
    service.withdraw(due_soon)
    db.session.commit()
    assert due_soon.id not in [e.id for e in my_enrolments(person.id)]
    assert db.session.get(Enrolment, due_soon.id).status == "withdrawn"


def test_grouped_summaries_match_one_by_one(world, db):
    from trainapp.courses.views import _summaries, _summary

    person = _person(world)
    first = make_course(title="一", lessons=(("text", 0.5, 15), ("text", 1.0, 15)))
    second = make_course(title="二", lessons=(("text", 2.0, 15),))
    e1, e2 = service.enrol(person, first), service.enrol(person, second, due_on=dt.date(2020, 1, 1))
    _beats(e1, first.lessons[1], 30, at_end=True)
    db.session.commit()
    grouped = _summaries([e1, e2])
    assert grouped == {e1.id: _summary(e1), e2.id: _summary(e2)}
    assert grouped[e1.id]["done"] == 1 and grouped[e1.id]["hours"] == 1.0 and grouped[e2.id]["overdue"]
