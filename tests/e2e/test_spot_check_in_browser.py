"""A spot check with two phones: the inspector starts it and shows the QR; a worker scans it, answers without an
account, sees the score; the inspector's page shows the answer; closing reveals the key on the worker's phone."""
import io
from urllib.parse import urlsplit

import pytest

from tests.certificates.helpers import decode_qr
from tests.e2e.test_certificate_flow import live_server_app
from tests.e2e.test_roles_in_browser import sign_in

pytestmark = pytest.mark.e2e


def _enterprise_and_worker():
    """A 工贸 enterprise the demo inspector (the district 应急管理局) reaches, and one of its active staff."""
    from sqlalchemy import select

    from trainapp.extensions import db
    from trainapp.org.models import Enterprise, Person, Sector

    with live_server_app().app_context():
        ent = db.session.scalar(select(Enterprise).join(Sector, Sector.id == Enterprise.sector_id)
                                .where(Sector.code == "industry_trade").order_by(Enterprise.id))
        person = db.session.scalar(select(Person).where(Person.enterprise_id == ent.id, Person.status == "active",
                                                        Person.mobile.is_not(None)).order_by(Person.id))
        return ent.id, ent.name, person.name, person.mobile


def _keys(token):
    """The right answers of the check, in the letters its paper shows (looked up in the server's database)."""
    from sqlalchemy import select

    from trainapp.exams.service import to_displayed
    from trainapp.extensions import db
    from trainapp.spotchecks.models import SpotCheck

    with live_server_app().app_context():
        check = db.session.scalar(select(SpotCheck).where(SpotCheck.token == token))
        return {q.position: (q.version.qtype, to_displayed(q, q.version.answer)) for q in check.questions}


def test_inspector_and_worker_on_two_phones(live_server, page, browser):
    ent_id, ent_name, worker_name, mobile = _enterprise_and_worker()

    # The inspector's phone: open the enterprise, start a 5-question check from its sector's standard.
    sign_in(page, live_server, "inspector")
    page.goto(f"{live_server}/org/enterprises/{ent_id}")
    page.click("#start-spot-check")
    page.wait_for_url(f"{live_server}/spotchecks/new?enterprise={ent_id}")
    assert "工贸企业重大事故隐患判定标准" in page.locator("#paper option:checked").inner_text()
    page.click("#start-submit")
    page.wait_for_url(f"{live_server}/spotchecks/*")
    qr = page.locator("#spot-qr")
    qr.wait_for()
    shown_url = page.locator("#spot-url").inner_text().strip()
    from PIL import Image

    assert decode_qr(Image.open(io.BytesIO(qr.screenshot()))) == shown_url
    token = urlsplit(shown_url).path.rsplit("/", 1)[-1]
    keys = _keys(token)
    assert len(keys) == 5

    # The worker's phone: no account, its own cookies.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        phone.goto(live_server + urlsplit(shown_url).path)
        assert phone.locator("#spot-header").inner_text().startswith(ent_name)
        html = phone.content()
        assert "data-correct" not in html and "review-key" not in html
        phone.fill("#name", worker_name)
        phone.fill("#last4", mobile[-4:])
        wrong_position = 1
        for position, (qtype, key) in keys.items():
            if position == wrong_position:  # one wrong answer, so the result is not simply full marks
                letter = ("F" if key == "T" else "T") if qtype == "truefalse" else next(c for c in "ABCD" if c not in key)
                phone.check(f"#q{position}-{letter}")
                continue
            for letter in key:
                phone.check(f"#q{position}-{letter}")
        phone.click("#answer-submit")
        phone.locator("#result-score").wait_for()
        assert phone.locator("#result-score").inner_text().replace(" ", "") == "4/5"
        assert phone.locator("#reveal-later").is_visible()
        assert phone.locator("[data-outcome=wrong]").count() == 1

        # The inspector's page picks the answer up by itself.
        row = page.locator(f'#answers-table tr[data-answer-name="{worker_name}"]')
        row.wait_for(timeout=20_000)
        assert row.get_attribute("data-match") == "matched"
        assert row.locator(".answer-score").inner_text().replace(" ", "") == "4/5"
        assert page.locator("#question-stats li").first.get_attribute("data-missed") == "1"

        # The inspector ends the check: the QR goes, and the worker's phone now shows the key.
        page.click("#close-check")
        page.locator("#check-state[data-state=closed]").wait_for()
        assert page.locator("#spot-qr").count() == 0
        phone.reload()
        assert phone.locator(".review-key").count() == 5
        assert phone.locator("#reveal-later").count() == 0
    finally:
        context.close()
