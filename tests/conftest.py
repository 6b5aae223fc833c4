"""Fixtures: app (once per run) -> db (emptied after each test) -> client -> factories.

The same suite runs on SQLite (default) and on PostgreSQL when TEST_DATABASE_URL is set.
Tests commit for real, as the views do; every table is emptied after each test.
"""
from __future__ import annotations

import os
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from tests import factories
from trainapp import create_app
from trainapp.extensions import db as _db
from trainapp.extensions import limiter


def pytest_report_header(config):
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'sqlite (temporary file)'}"


class FreshContextClient(FlaskClient):
    """Run every request in its own app context, as a real server does.

    Without this, the test's own app context would be reused by each request, sharing
    `g` (and with it Flask-Login's cached user) and the database session across requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    app.test_client_class = FreshContextClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        _empty_all_tables()
    limiter.reset()


def _empty_all_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def world(db):
    """A small two-street, two-sector world with one user per role (see factories.build_world)."""
    return factories.build_world()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1) or m.group(2)


@pytest.fixture
def login(client):
    """Sign `login` in through the real form; returns a function that posts forms with CSRF."""

    def do(user_login: str, password: str = factories.PASSWORD, follow: bool = False):
        page = client.get("/auth/login")
        resp = client.post("/auth/login", data={"login": user_login, "password": password,
                                                "csrf_token": csrf_from(page.text)},
                           follow_redirects=follow)
        return resp

    return do


def post_form(client, url: str, data: dict, page_url: str | None = None, **kw):
    """POST `data` to `url` with the CSRF token taken from `page_url` (default: the home page)."""
    page = client.get(page_url or "/home")
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)}, **kw)
