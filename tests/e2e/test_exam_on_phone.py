"""A learner sits an exam on a phone-sized Chromium: start, answer, lose the network, reload, finish, see the result."""
import pytest

from tests.e2e.test_roles_in_browser import sign_in

pytestmark = pytest.mark.e2e
LEARNER = "13700000001"


def _answer_current(page, index):
    """Pick an answer on the visible question (the first option, plus the second on multiple choice)."""
    section = page.locator(".exam-q:not(.d-none)")
    qtype = section.get_attribute("data-qtype")
    options = section.locator("label.exam-option")
    options.nth(0).click()
    if qtype == "multiple":
        options.nth(1).click()
    return section.get_attribute("data-position")


def _wait_saved(page):
    page.locator("#save-state[data-state=saved]").wait_for()


def test_learner_sits_an_exam_with_a_reload_and_a_dropped_network(live_server, page):
    sign_in(page, live_server, LEARNER)
    assert page.locator("#my-exams").is_visible()
    page.click("#my-exams >> text=工贸企业重大事故隐患判定标准考试")
    page.click("#start-exam")
    page.wait_for_url(f"{live_server}/exams/attempts/*")
    attempt_url = page.url
    total = page.locator(".exam-q").count()
    assert total == 20
    assert page.locator(".exam-q:not(.d-none)").count() == 1  # one question per screen

    answered = []
    for i in range(5):
        answered.append(_answer_current(page, i))
        page.click("#next-q")
    _wait_saved(page)

    # The network drops: the answer waits in the phone and is sent when it comes back.
    page.context.set_offline(True)
    answered.append(_answer_current(page, 5))
    page.locator("#save-state[data-state=offline]").wait_for()
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    _wait_saved(page)

    page.reload()
    assert page.url == attempt_url
    for position in answered:
        assert page.locator(f"#q{position} input:checked").count() >= 1
    assert page.locator(".nav-q.btn-primary").count() == len(answered)

    for i in range(len(answered), total):
        page.click(f".nav-q[data-goto='{i + 1}']")
        _answer_current(page, i)
    _wait_saved(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#submit-exam")
    page.wait_for_selector("#result-score")
    assert page.locator("#result-verdict").inner_text() in ("通过", "未通过")
    assert page.locator("#review > li").count() == 20
    # Every one of the 20 answers reached the server.
    assert page.locator(".review-chosen", has_text="未作答").count() == 0


def test_session_expiring_mid_exam_loses_no_answer(live_server, page):
    sign_in(page, live_server, LEARNER)
    page.goto(f"{live_server}/exams/")
    page.click("#available-exams >> text=安全生产法知识考试")
    page.click("#start-exam")
    page.wait_for_url(f"{live_server}/exams/attempts/*")
    attempt_url = page.url
    first = _answer_current(page, 0)
    _wait_saved(page)

    page.context.clear_cookies()  # the session ends (timeout, or signed out on another device)
    page.click("#next-q")
    second = _answer_current(page, 1)
    page.locator("#save-state[data-state=error]").wait_for()

    sign_in(page, live_server, LEARNER)
    page.goto(attempt_url)  # back to the same attempt; the kept answer is sent now
    _wait_saved(page)
    page.reload()
    for position in (first, second):
        assert page.locator(f"#q{position} input:checked").count() >= 1
    # The server has both answers: a fresh browser context with an empty localStorage sees them too.
    other = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    fresh = other.new_page()
    sign_in(fresh, live_server, LEARNER)
    fresh.goto(attempt_url)
    for position in (first, second):
        assert fresh.locator(f"#q{position} input:checked").count() >= 1
    other.close()
