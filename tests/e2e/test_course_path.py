"""The seed's whole path in Chromium: enrol → complete a lesson → see the hours → course exam → certificate."""
import pytest

from tests.e2e.test_certificate_flow import answer_all_correctly_and_submit, live_server_app
from tests.e2e.test_roles_in_browser import sign_in

pytestmark = pytest.mark.e2e
LEARNER = "13700000010"


def test_enrol_learn_exam_certificate(live_server, page):
    from sqlalchemy import select

    from trainapp.auth.models import RoleGrant, User
    from trainapp.courses import markup
    from trainapp.courses.models import Course, Lesson
    from trainapp.demo.data import DEMO_PASSWORD
    from trainapp.exams.models import Exam
    from trainapp.extensions import db
    from trainapp.org.models import Person

    app = live_server_app()
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.mobile == LEARNER))
        user = User(mobile=LEARNER, display_name=person.name, person_id=person.id)
        user.set_password(DEMO_PASSWORD)
        user.grants = [RoleGrant(role="learner")]
        exam = db.session.scalar(select(Exam).where(Exam.title == "工贸企业重大事故隐患判定标准考试"))
        body = "## 动火作业\n\n动火前必须办理审批，清除周围可燃物，并安排专人监护。\n\n" + "安全第一。\n\n" * 30
        course = Course(title="浏览器测试：动火作业安全", status="published", exam_id=exam.id, idle_minutes=5,
                        lessons=[Lesson(position=1, title="动火作业的基本要求", kind="text", body_md=body,
                                        body_html=markup.render(body), hours=0.5, min_seconds=3)])
        db.session.add_all([user, course])
        db.session.commit()
        course_id = course.id

    sign_in(page, live_server, LEARNER)
    page.goto(f"{live_server}/courses/")
    page.locator("#catalogue .list-group-item", has_text="浏览器测试：动火作业安全").locator(".enrol-button").click()
    page.wait_for_url(f"{live_server}/courses/{course_id}")
    page.click("#lessons a")
    page.wait_for_url(f"{live_server}/courses/{course_id}/lessons/*")
    page.locator("#lesson-end").scroll_into_view_if_needed()
    page.mouse.wheel(0, 2000)
    page.locator("#lesson-state.text-bg-success").wait_for(timeout=20_000)
    page.goto(f"{live_server}/courses/{course_id}")
    assert page.locator(".lesson-done").count() == 1
    assert "0.5" in page.locator("#course-progress").inner_text()

    page.click("#go-exam")
    page.click("#start-exam")
    page.wait_for_url(f"{live_server}/exams/attempts/*")
    answer_all_correctly_and_submit(page, app)

    page.goto(f"{live_server}/courses/{course_id}")
    assert page.locator("#course-progress .alert-success").is_visible()  # course completed
    page.goto(f"{live_server}/home")
    assert "0.5" in page.locator("#home-year-hours").inner_text()
    assert page.locator("#my-certificates-card .list-group-item").count() >= 1
