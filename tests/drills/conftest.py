"""Let a drill test switch users: signing in again first signs the current user out."""
import pytest

from tests.conftest import post_form


@pytest.fixture
def login(login, client):
    def do(user_login: str, **kw):
        if client.get("/home").status_code == 200:
            assert post_form(client, "/auth/logout", {}).status_code == 302
        return login(user_login, **kw)

    return do
