"""The session's user loader: one query with the person and role grants; a stand-in only where allowed."""
from __future__ import annotations

from sqlalchemy import inspect

from trainapp.auth import claimed
from trainapp.auth.views import load_user
from trainapp.extensions import db as _db


def test_loader_brings_person_and_grants_in_one_query(app, world, db):
    learner = world.users["learner"]
    value = learner.get_id()
    with app.test_request_context("/home"):
        _db.session.expunge_all()  # as in a new request: nothing loaded yet
        user = load_user(value)
        assert user is not None and user.id == learner.id
        state = inspect(user)
        assert "person" not in state.unloaded and "grants" not in state.unloaded
        assert user.person.name == "学员甲" and user.roles == {"learner"}
        assert not isinstance(user, claimed.ClaimedUser)
        assert load_user(f"{learner.id}:{learner.session_version + 1}") is None  # password changed since
        assert load_user("not-an-id") is None


def test_no_stand_in_outside_the_deferred_endpoints(app, world, db):
    learner = world.users["learner"]
    with app.test_request_context("/exams/attempts/1/answer", method="POST"):
        from flask import g, session

        session["_user_id"] = learner.get_id()
        assert not claimed.may_claim(learner.get_id())  # CSRF not checked yet
        g.csrf_valid = True
        assert claimed.may_claim(learner.get_id())
        assert not claimed.may_claim("99:1")  # not what the session says
    with app.test_request_context("/exams/attempts/1/event", method="POST"):
        from flask import g, session

        session["_user_id"] = learner.get_id()
        g.csrf_valid = True
        assert not claimed.may_claim(learner.get_id())
