"""Sign-in, sign-out, password change and reset, rate limits, CSRF, cookies."""
from tests import factories
from tests.conftest import csrf_from, post_form


def test_sign_in_by_username_and_by_mobile(world, client, login):
    assert login("admin").headers["Location"].endswith("/home")
    assert "admin" in client.get("/home").text
    post_form(client, "/auth/logout", {})
    learner = world.users["learner"]
    assert login(learner.mobile).status_code == 302
    assert "学员甲" in client.get("/home").text


def test_wrong_password_shows_field_error(world, client, login):
    resp = login("admin", "wrong-password")
    assert resp.status_code == 200
    assert "手机号/用户名或密码不正确" in resp.text
    assert client.get("/home").status_code == 302


def test_passwords_are_hashed(world, db):
    u = world.users["admin"]
    assert factories.PASSWORD not in u.password_hash
    assert u.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_sign_in_is_rate_limited(world, client):
    token = csrf_from(client.get("/auth/login").text)
    codes = [client.post("/auth/login", data={"login": "admin", "password": "nope", "csrf_token": token}).status_code
             for _ in range(12)]
    assert codes[:10] == [200] * 10
    assert codes[-1] == 429


def test_forms_without_csrf_are_refused(world, client):
    resp = client.post("/auth/login", data={"login": "admin", "password": factories.PASSWORD})
    assert resp.status_code == 400
    assert client.get("/home").status_code == 302


def test_session_cookie_is_httponly_and_samesite(world, client, login):
    resp = login("admin")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_requires_post_and_ends_session(world, client, login):
    login("admin")
    assert client.get("/auth/logout").status_code == 405
    post_form(client, "/auth/logout", {})
    assert client.get("/home").status_code == 302


def test_password_change_ends_other_sessions(world, app, client, login):
    login("manager_a")
    other = app.test_client()
    page = other.get("/auth/login")
    other.post("/auth/login", data={"login": "manager_a", "password": factories.PASSWORD,
                                    "csrf_token": csrf_from(page.text)})
    assert other.get("/home").status_code == 200
    resp = post_form(client, "/auth/password", {"current": factories.PASSWORD, "password": "N3w-password!",
                                                "confirm": "N3w-password!"}, page_url="/auth/password")
    assert resp.status_code == 302
    assert client.get("/home").status_code == 200  # this session was renewed
    assert other.get("/home").status_code == 302  # the other one ended


def test_password_change_checks_current_and_confirmation(world, client, login):
    login("manager_a")
    resp = post_form(client, "/auth/password", {"current": "bad", "password": "N3w-password!",
                                                "confirm": "different!!"}, page_url="/auth/password")
    assert "当前密码不正确" in resp.text or "两次输入的密码不一致" in resp.text
    assert "两次输入的密码不一致" in resp.text


def test_admin_reset_forces_a_change(world, client, login, db):
    login("admin")
    target = world.users["manager_b"]
    resp = post_form(client, f"/admin/users/{target.id}/reset-password", {}, follow_redirects=True)
    assert "临时密码" in resp.text
    temp = resp.text.split("临时密码：")[1].split("（")[0]
    post_form(client, "/auth/logout", {})
    resp = login("manager_b", temp)
    assert resp.headers["Location"].endswith("/auth/password")
    post_form(client, "/auth/logout", {})
    assert "密码不正确" in login("manager_b", factories.PASSWORD).text  # the old password is gone


def test_open_redirect_after_sign_in_is_refused(world, client):
    token = csrf_from(client.get("/auth/login").text)
    resp = client.post("/auth/login?next=//evil.example/x",
                       data={"login": "admin", "password": factories.PASSWORD, "csrf_token": token})
    assert resp.headers["Location"].endswith("/home")


def test_deactivated_account_cannot_sign_in(world, client, login, db):
    world.users["trainer"].is_active_account = False
    db.session.commit()
    assert login("trainer").status_code == 200
