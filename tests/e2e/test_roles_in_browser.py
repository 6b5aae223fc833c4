"""Sign in as each demo role in Chromium, see that role's home page, switch the language."""
import pytest

from trainapp.demo.data import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

ROLE_HOME = [
    ("admin", "#admin-home"),
    ("manager", "#manager-home"),
    ("sector", "#manager-home"),
    ("trainer", "#trainer-home"),
    ("entadmin", "#enterprise-admin-home"),
    ("inspector", "#manager-home"),
    ("13700000001", "#learner-home"),
]


def sign_in(page, base, login):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{base}/home")


@pytest.mark.parametrize("login,section", ROLE_HOME)
def test_each_demo_role_sees_its_home(live_server, page, login, section):
    sign_in(page, live_server, login)
    assert page.locator(section).is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    # The phone layout collapses the menu; open it to reach the language switch.
    if page.locator(".navbar-toggler").is_visible():
        page.click(".navbar-toggler")
        # Bootstrap adds .show once the opening animation has finished; a click during
        # the animation can land on the moving menu and be lost.
        page.wait_for_selector("#nav.show:not(.collapsing)")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("#home-title").inner_text().startswith("Hello")
    assert page.locator(section).is_visible()


def test_enterprise_admin_sees_only_own_staff(live_server, page):
    sign_in(page, live_server, "entadmin")
    page.goto(f"{live_server}/org/enterprises")
    assert page.locator("#enterprise-table tbody tr").count() == 1


def test_wrong_password_message(live_server, page):
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-form [type=submit]")
    assert "不正确" in page.locator("#login-form").inner_text()
