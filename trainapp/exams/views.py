"""Learners take exams: list, start or resume, answer (saved one by one), submit, result and review."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded, RequestLimit
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from limits import parse as parse_limit
from sqlalchemy import inspect, select

from trainapp.auth import claimed
from trainapp.exams import service
from trainapp.exams.models import Attempt, Exam
from trainapp.extensions import db, limiter
from trainapp.models import utcnow
from trainapp.questionbank.qtypes import LETTERS, REGISTRY

bp = Blueprint("exams", __name__, url_prefix="/exams")
claimed.defer_account_check("exams.answer")  # see answer()
MAX_JSON_BYTES = 2048
EVENT_KINDS = ("leave", "return")


def _per_user() -> str:
    """Rate-limit key: the account, not the address (a whole workshop may share one address)."""
    user = current_user._get_current_object()
    if isinstance(user, claimed.ClaimedUser):  # the answer endpoint: the account the session names
        user.settle()
        return f"user:{user.claim}"
    return f"user:{user.get_id()}" if user.is_authenticated else request.remote_addr or "?"


def _own_attempt(attempt_id: int) -> Attempt:
    """The signed-in user's attempt; anyone else's answers 404 (never reveal it exists)."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == current_user.id))
    if attempt is None:
        abort(404)
    return attempt


def _type_labels() -> dict[str, SimpleNamespace]:
    """The question types' labels, translated once per page: the paper shows one for each of its questions."""
    return {code: SimpleNamespace(label=str(qtype.label)) for code, qtype in REGISTRY.items()}


def _close_if_expired(attempt: Attempt) -> None:
    if attempt.status == "open" and utcnow() > attempt.deadline_at + service.SAVE_GRACE:
        service.submit(attempt, auto=True)
        db.session.commit()


@bp.route("/")
@login_required
def index():
    service.sweep_expired(limit=50)
    exams = service.available_exams(current_user)
    history = db.session.scalars(select(Attempt).where(Attempt.user_id == current_user.id)
                                 .order_by(Attempt.started_at.desc()).limit(200)).all()
    counted = {e.id: service.counted_attempt(current_user.id, e) for e in exams}
    return render_template("exams/index.html", exams=exams, history=history, counted=counted)


@bp.route("/<int:exam_id>")
@login_required
def exam(exam_id: int):
    exam = db.session.get(Exam, exam_id)
    everything = service.attempts_of(current_user.id, exam_id) if exam else []
    attempts = [a for a in everything if a.status == "submitted"]
    if exam is None or (exam.status == "draft" and not service.may_manage(current_user, exam)) or (
            not attempts and not service.meant_for(exam, current_user.person)
            and not service.may_manage(current_user, exam)):
        abort(404)
    open_one = next((a for a in everything if a.status == "open"), None)
    # The attempts were read once above; the refusal and the counted attempt reuse them.
    return render_template("exams/exam.html", exam=exam, attempts=attempts, open_one=open_one,
                           refusal=None if open_one else service.start_refusal(current_user, exam, done=attempts),
                           counted=service.counted_attempt(current_user.id, exam, done=attempts),
                           form=FlaskForm())


@bp.route("/<int:exam_id>/start", methods=["POST"])
@login_required
@limiter.limit("30/minute", key_func=_per_user)
def start(exam_id: int):
    exam = db.session.get(Exam, exam_id)
    if exam is None or not FlaskForm().validate_on_submit():
        abort(404 if exam is None else 400)
    try:
        attempt = service.start_attempt(current_user, exam)
    except service.ExamError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("exams.exam", exam_id=exam.id))
    # The id from the session's identity map: reading attempt.id after the commit would reload the row.
    return redirect(url_for("exams.attempt", attempt_id=inspect(attempt).identity[0]))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    _close_if_expired(attempt)
    if attempt.status == "open":
        remaining = max(0, int((attempt.deadline_at - utcnow()).total_seconds()))
        return render_template("exams/take.html", attempt=attempt, exam=attempt.exam,
                               paper=service.shown_paper(attempt), remaining=remaining, letters=LETTERS,
                               types=_type_labels(), form=FlaskForm())
    level = service.review_level(attempt)
    return render_template("exams/result.html", attempt=attempt, exam=attempt.exam, level=level,
                           review=service.review_rows(attempt) if level in ("answers", "full") else [],
                           letters=LETTERS, types=_type_labels(),
                           retry=service.start_refusal(current_user, attempt.exam) is None)


def _read_json_payload() -> tuple[dict | None, int | None]:
    """The posted JSON object, or the status that refuses it: 413 (too large, left unread) or 400."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        return None, 413
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return None, 400
    return payload, None


def _json_payload() -> dict:
    payload, refusal = _read_json_payload()
    if refusal:
        abort(refusal)
    return payload


# The answer endpoint counts its rate limit itself: Flask-Limiter's decorator costs a fifth of a saved
# answer (it resolves the route's limits and exemptions twice per request). The count is the one the
# decorator kept: the limiter's storage and strategy, the same key and scope (so the same bucket),
# 429 beyond it, and the X-RateLimit headers, which the limiter adds from its request context.
ANSWER_LIMIT = parse_limit("240/minute")


@limiter.request_filter
def _answer_limited_in_view() -> bool:
    """Flask-Limiter skips the answer endpoint, which counts ANSWER_LIMIT itself (_count_answer).

    This also keeps it out of any default or application-wide limit configured later.
    """
    return request.endpoint == "exams.answer"


def _count_answer() -> RequestLimit | None:
    """Count this request against ANSWER_LIMIT (what @limiter.limit("240/minute", key_func=_per_user) did).

    Not reported (headers, 429) until the account is known to be valid (_report_answer_count): the
    decorator ran after login_required, so a request from an ended session got the sign-in redirect.
    A storage error propagates (a 500), as it did with the decorator under this app's settings (no
    in-memory fallback, errors not swallowed).
    """
    if not limiter.enabled:
        return None
    args = [_per_user(), "exams.answer"]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    if prefix:
        args.insert(0, prefix)
    allowed = limiter.limiter.hit(ANSWER_LIMIT, *args)
    return RequestLimit(limiter, ANSWER_LIMIT, args, not allowed, False)


def _report_answer_count(count: RequestLimit | None) -> None:
    """The limiter's after-request hook adds the X-RateLimit headers; 429 when over the limit."""
    if count is None:
        return
    limiter.context.view_rate_limit = count
    limiter.context.view_rate_limits = [count]
    if count.breached:
        raise RateLimitExceeded(SimpleNamespace(limit=ANSWER_LIMIT, error_message=None))


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@login_required
def answer(attempt_id: int):
    """Save one answer: {"position": 3, "response": "AC"} in the letters the learner saw.

    The busiest request of an exam, so a valid answer costs one UPDATE: the account is only claimed by
    the signed session (trainapp.auth.claimed) and that UPDATE checks it along with the attempt
    (service.fast_save_answer). Anything it did not save goes the full way, which loads the account
    and gives the same answers as ever: the payload is read first, untrusted, so that one query can
    both prove the attempt is the user's and fetch the item at the position; it is judged only after
    that query: someone else's attempt is 404 whatever was sent, then 413/400 for the payload.
    """
    count = _count_answer()
    payload, refusal = _read_json_payload()
    position = payload.get("position") if payload else None
    response = payload.get("response", "") if payload else None
    well_formed = isinstance(position, int) and not isinstance(position, bool) and isinstance(response, str) \
        and len(response) <= len(LETTERS)
    user = current_user._get_current_object()
    if isinstance(user, claimed.ClaimedUser):
        user.settle()
    if (count is None or not count.breached) and well_formed and not refusal and service.fast_save_answer(
            attempt_id, user.id, user.session_version, position, response):
        _report_answer_count(count)
        return jsonify(ok=True, position=position, response=response)
    # Not saved by the one statement: load the account, if it was only claimed, and decide in full.
    refused = claimed.confirm()
    if refused is not None:
        return refused
    _report_answer_count(count)
    target = service.answer_target(attempt_id, current_user.id, position if well_formed else None)
    if target is None:
        abort(404)
    if refusal:
        abort(refusal)
    if not well_formed:
        return jsonify(ok=False, error=_("无效的请求")), 400
    try:
        service.store_answer(target, response)
    except service.ExamError as exc:
        db.session.rollback()
        closed = target.status != "open" or utcnow() > target.deadline_at + service.SAVE_GRACE
        return jsonify(ok=False, error=str(exc), closed=closed), 409 if closed else 400
    db.session.commit()
    return jsonify(ok=True, position=position, response=response)


@bp.route("/attempts/<int:attempt_id>/event", methods=["POST"])
@login_required
@limiter.limit("120/minute", key_func=_per_user)
def event(attempt_id: int):
    """Log that the learner left the page or came back (logged, never blocked)."""
    attempt = _own_attempt(attempt_id)
    kind = _json_payload().get("kind")
    if kind not in EVENT_KINDS:
        return jsonify(ok=False), 400
    if attempt.status == "open":
        service.log_event(attempt, kind)
        db.session.commit()
    return jsonify(ok=True)


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    auto = request.form.get("auto") == "1"
    attempt_id = attempt.id
    if service.submit(attempt, auto=auto):
        passed = attempt.passed  # read before the commit, which expires the attempt (no reload)
        db.session.commit()
        flash(_("已交卷"), "success")
        if passed:
            from trainapp.certificates.batch import render_later
            from trainapp.certificates.models import Certificate

            render_later(list(db.session.scalars(select(Certificate.id).where(Certificate.attempt_id == attempt_id))))
    return redirect(url_for("exams.attempt", attempt_id=attempt_id))


@bp.route("/attempts/<int:attempt_id>/images/<int:position>")
@login_required
def image(attempt_id: int, position: int):
    """A question's image as frozen in this attempt's paper."""
    from trainapp.files import image_response

    attempt = _own_attempt(attempt_id)
    item = next((i for i in attempt.items if i.position == position), None)
    if item is None or item.version.image_id is None:
        abort(404)
    return image_response(item.version.image_id)
