"""The signed-in account taken on the session's word, for endpoints that check it in their own statement.

Loading the account is a fifth of the cost of the busiest request of an exam (saving one answer),
which itself is a single UPDATE. An endpoint registered with `defer_account_check` therefore gets,
as Flask-Login's current user, a ClaimedUser built from the signed session alone: the account id
and the session version the session was signed in with (see User.get_id). The endpoint must prove
the claim in the statement that does its work (the account exists, is active, its session version
is unchanged, it has a person so no profile is due) and call `confirm()` whenever that statement
touches no row: confirm() loads the account exactly as Flask-Login would have and answers what
login_required and the profile check would have answered, so every refusal is decided as before.

The claim is trusted only until the endpoint's own code starts (`settle()`): in the app's
before-request hooks and in login_required it stands for a signed-in, active learner whose profile
is complete. It is made only when the request came with the session cookie (not a remember-me
cookie) and passed CSRF, so that an error page for a refused token never sees it. Once settled,
anything else asked of it (a template's `current_user.name`, `is_authenticated` on an error page)
loads the real account first; if the session no longer names a valid account, the answers are
those of the anonymous user, as they would have been.
"""
from __future__ import annotations

from flask import g, redirect, request, session, url_for
from flask_login import current_user

from trainapp.extensions import login_manager

_DEFERRED_ENDPOINTS: set[str] = set()
_CHECKED = "_trainapp_account_checked"


def defer_account_check(endpoint: str) -> None:
    """Let `endpoint` run on a ClaimedUser; it must verify the claim itself (see the module's text)."""
    _DEFERRED_ENDPOINTS.add(endpoint)


def may_claim(value: str) -> bool:
    """Whether the user loader may answer `value` with a ClaimedUser for this request."""
    return (request.endpoint in _DEFERRED_ENDPOINTS and not g.get(_CHECKED, False)
            and g.get("csrf_valid", False) and session.get("_user_id") == value)


class ClaimedUser:
    """Flask-Login's current user while an account is only claimed by the signed session."""

    __slots__ = ("id", "session_version", "claim", "_trusted", "_target")

    def __init__(self, user_id: int, session_version: int):
        self.id = user_id
        self.session_version = session_version
        self.claim = f"{user_id}:{session_version}"  # what User.get_id() returns for this account
        self._trusted = True
        self._target = None

    def settle(self) -> None:
        """The endpoint's own code starts: from now on answers come from the real account."""
        self._trusted = False

    def resolve(self):
        """Load the account as Flask-Login would have (session, then remember-me cookie); it becomes current_user."""
        if self._target is None:
            self._trusted = False
            setattr(g, _CHECKED, True)  # the user loader now loads the account for real
            login_manager._load_user()  # Flask-Login's own sequence; sets its current user
            self._target = g._login_user
        return self._target

    # The attributes Flask-Login and the before-request hooks ask for.
    @property
    def is_authenticated(self) -> bool:
        return True if self._trusted else self.resolve().is_authenticated

    @property
    def is_active(self) -> bool:
        return True if self._trusted else self.resolve().is_active

    @property
    def is_anonymous(self) -> bool:
        return False if self._trusted else self.resolve().is_anonymous

    @property
    def needs_profile(self) -> bool:
        return False if self._trusted else self.resolve().needs_profile

    def get_id(self) -> str | None:
        return self.claim if self._trusted else self.resolve().get_id()

    def __getattr__(self, name: str):
        return getattr(self.resolve(), name)


def confirm():
    """Load the claimed account, if the current user is only claimed; None to go on, or the response to send.

    The response is what would have been sent had the account been loaded at the start: login_required's
    (signed out, deactivated, or the password changed since) or the app's profile check's (see
    trainapp.register_request_hooks). Afterwards current_user is the real account.
    """
    user = current_user._get_current_object()
    if not isinstance(user, ClaimedUser):
        return None
    user = user.resolve()
    if not user.is_authenticated:
        return login_manager.unauthorized()
    if user.needs_profile:
        return redirect(url_for("auth.profile"))
    return None
