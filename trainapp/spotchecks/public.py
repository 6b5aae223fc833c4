"""The worker's page (no account): open the QR's link, give name and mobile digits, answer, see the score.

The page never carries the key: options are plain radio buttons and grading happens on the server when
the form is posted. After submitting, the worker sees their score and which questions they got wrong at
once; the right answers and explanations appear on the same page once the check has closed (reload),
so a worker who has finished cannot pass the key to colleagues still answering beside them.

The browser's session remembers which answer it sent for each check, so reopening the link shows the
result; "another person answers on this phone" clears that for people sharing a phone.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from trainapp.extensions import db, limiter
from trainapp.models import utcnow
from trainapp.questionbank.qtypes import LETTERS, REGISTRY
from trainapp.spotchecks import service
from trainapp.spotchecks.forms import WorkerForm
from trainapp.spotchecks.models import SpotCheck, SpotCheckAnswer

bp = Blueprint("spotcheck_public", __name__, url_prefix="/spot")
SESSION_KEY = "spot_answers"
REMEMBERED = 10  # checks whose answers a browser remembers


def _check_or_404(token: str) -> SpotCheck:
    check = db.session.scalar(select(SpotCheck).where(SpotCheck.token == token)) if len(token) <= 64 else None
    if check is None:
        abort(404)
    return check


def _remembered(check: SpotCheck) -> SpotCheckAnswer | None:
    answer_id = (session.get(SESSION_KEY) or {}).get(str(check.id))
    if not answer_id:
        return None
    return db.session.scalar(select(SpotCheckAnswer).where(SpotCheckAnswer.id == answer_id,
                                                           SpotCheckAnswer.spot_check_id == check.id))


def _remember(check: SpotCheck, answer: SpotCheckAnswer) -> None:
    kept = dict(session.get(SESSION_KEY) or {})
    kept.pop(str(check.id), None)
    kept[str(check.id)] = answer.id
    session[SESSION_KEY] = dict(list(kept.items())[-REMEMBERED:])


def _forget(check: SpotCheck) -> None:
    kept = dict(session.get(SESSION_KEY) or {})
    if kept.pop(str(check.id), None) is not None:
        session[SESSION_KEY] = kept


def _raw_answers(check: SpotCheck) -> dict[int, str]:
    """Displayed letters per position from fields q1, q2, … (checkboxes arrive as several values)."""
    out = {}
    for item in check.questions:
        values = request.form.getlist(f"q{item.position}")
        out[item.position] = "".join(v.strip() for v in values if len(v.strip()) == 1)[:8]
    return out


def _page(check, form, status, errors=None, chosen=None, code=200, earlier=None, notice=None):
    return render_template("spotchecks/answer.html", check=check, form=form, status=status, errors=errors or {},
                           chosen=chosen or {}, paper=service.shown_paper(check) if status == "open" else [],
                           earlier=earlier, notice=notice, types=REGISTRY, letters=LETTERS), code


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("120/minute", methods=["GET"])
@limiter.limit("30/minute;300/hour", methods=["POST"])
def answer(token: str):
    check = _check_or_404(token)
    if request.method == "GET" and request.args.get("again"):
        _forget(check)
        return redirect(url_for("spotcheck_public.answer", token=token))
    if request.method == "GET" and (mine := _remembered(check)) is not None:
        return _result(check, mine)
    form = WorkerForm()
    now = utcnow()
    if request.method == "GET":
        return _page(check, form, service.window_state(check, now),
                     code=200 if check.is_open(now) else 410)
    if now > check.closes + service.SUBMIT_GRACE:
        return _page(check, form, "closed", code=410)
    raw = _raw_answers(check)
    if not form.validate_on_submit():
        if form.csrf_token.errors:  # the page sat too long, or cookies were cleared: answers kept, send again
            return _page(check, form, "open", {}, raw, code=400, notice=_("页面已过期，请核对后重新交卷"))
        _stored, errors = service.read_responses(check, raw)
        return _page(check, form, "open", errors, raw, code=400)
    outcome = service.submit(check, form.name.data, service.clean_last4(form.last4.data), raw, now)
    if outcome.status == "submitted":
        db.session.commit()
        _remember(check, outcome.answer)
        return redirect(url_for("spotcheck_public.answer", token=token))
    if outcome.status == "invalid":
        return _page(check, form, "open", outcome.errors, raw, code=400)
    code = {"closed": 410, "full": 409, "already": 409}[outcome.status]
    return _page(check, form, outcome.status, code=code, earlier=outcome.answer)


def _result(check: SpotCheck, mine: SpotCheckAnswer):
    closed = not check.is_open()
    return render_template("spotchecks/answer_result.html", check=check, answer=mine,
                           rows=service.review(check, mine), reveal=closed, types=REGISTRY, letters=LETTERS)


@bp.errorhandler(404)
def _missing(error):
    return render_template("spotchecks/answer.html", check=None, form=None, status="missing", errors={},
                           chosen={}, paper=[], earlier=None, notice=None, types=REGISTRY, letters=LETTERS), 404

