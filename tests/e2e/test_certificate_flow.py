"""A learner passes an exam and downloads the certificate; a signed-out visitor follows its QR code."""
import io

import pytest
from pypdf import PdfReader

from tests.certificates.helpers import decode_qr, rasterise
from tests.e2e.test_roles_in_browser import sign_in

pytestmark = pytest.mark.e2e
PASSER = "13700000008"  # a demo person without an account yet gets one here


def test_learner_passes_downloads_and_a_visitor_verifies(live_server, page, browser):
    from sqlalchemy import select

    from trainapp.auth.models import RoleGrant, User
    from trainapp.demo.data import DEMO_PASSWORD
    from trainapp.extensions import db
    from trainapp.org.models import Person

    app = live_server_app()
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.mobile == PASSER))
        user = User(mobile=PASSER, display_name=person.name, person_id=person.id)
        user.set_password(DEMO_PASSWORD)
        user.grants = [RoleGrant(role="learner")]
        db.session.add(user)
        db.session.commit()
        holder = person.name

    sign_in(page, live_server, PASSER)
    page.goto(f"{live_server}/exams/")
    page.click("#available-exams >> text=工贸企业重大事故隐患判定标准考试")
    page.click("#start-exam")
    page.wait_for_url(f"{live_server}/exams/attempts/*")
    answer_all_correctly_and_submit(page, app)
    assert page.locator("#result-verdict").inner_text() == "通过"

    page.goto(f"{live_server}/certificates/mine")
    with page.expect_download() as download_info:
        page.click(".cert-download >> nth=0")
    with open(download_info.value.path(), "rb") as fh:
        data = fh.read()
    assert holder in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    url = decode_qr(rasterise(data))

    visitor = browser.new_context(viewport={"width": 390, "height": 844})
    anonymous = visitor.new_page()
    anonymous.goto(url.replace("http://testserver", live_server))
    assert anonymous.locator("#verify-state").get_attribute("data-state") == "valid"
    assert holder not in anonymous.content()  # the public page shows the name masked
    visitor.close()


def answer_all_correctly_and_submit(page, app):
    """On an open attempt's page: pick every key (read from the server's database, not the page), submit."""
    from trainapp.exams.models import Attempt
    from trainapp.exams.service import to_displayed
    from trainapp.extensions import db

    attempt_id = int(page.url.rsplit("/", 1)[1])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        keys = {item.position: to_displayed(item, item.version.answer) for item in attempt.items}
    for position, key in sorted(keys.items()):
        page.click(f".nav-q[data-goto='{position}']")
        for letter in key:
            page.locator(f"#q{position} input[value='{letter}']").check()
    page.locator("#save-state[data-state=saved]").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#submit-exam")
    page.wait_for_selector("#result-score")


def live_server_app():
    from tests.e2e import conftest

    return conftest.APP
