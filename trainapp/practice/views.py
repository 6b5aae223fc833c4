"""Practice mode (练习): one random question at a time with instant feedback, and the wrong-answer book.

Practice never creates exam attempts and never changes a question's statistics. The question page
carries no key or explanation; they are shown only on the feedback page after the answer is posted.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from trainapp import files
from trainapp.exams.models import WrongAnswer
from trainapp.extensions import db
from trainapp.models import utcnow
from trainapp.practice.forms import AnswerForm
from trainapp.questionbank.models import Question, QuestionBank
from trainapp.questionbank.qtypes import LETTERS, REGISTRY
from trainapp.questionbank.subjects import SUBJECTS

bp = Blueprint("practice", __name__, url_prefix="/practice")
WRONG_PER_PAGE = 30


def _person():
    """Practice is for people (learners): an account without a Person gets 403."""
    if current_user.person is None:
        abort(403)
    return current_user.person


def _servable(question_id: int) -> Question:
    """An active question of an active bank, or 404 (retired questions are never served)."""
    question = db.session.scalar(select(Question).join(QuestionBank, QuestionBank.id == Question.bank_id).where(
        Question.id == question_id, Question.status == "active", QuestionBank.status == "active"))
    if question is None:
        abort(404)
    return question


def _answer_display(qtype: str, answer: str) -> str:
    if qtype == "truefalse":
        return {"T": _("对"), "F": _("错")}.get(answer, answer)
    return answer


def _unresolved_count() -> int:
    return db.session.scalar(select(func.count(WrongAnswer.id)).join(Question, Question.id == WrongAnswer.question_id)
                             .where(WrongAnswer.user_id == current_user.id, WrongAnswer.resolved.is_(False),
                                    Question.status == "active")) or 0


@bp.route("/")
@login_required
def index():
    person = _person()
    counts = (select(Question.bank_id, func.count(Question.id).label("n"))
              .where(Question.status == "active").group_by(Question.bank_id).subquery())
    rows = db.session.execute(select(QuestionBank, counts.c.n).join(counts, counts.c.bank_id == QuestionBank.id)
                              .where(QuestionBank.status == "active")
                              .order_by(QuestionBank.subject, QuestionBank.name)).all()
    suggested = [(b, n) for b, n in rows if not b.audiences or person.audience in b.audiences]
    others = [(b, n) for b, n in rows if b.audiences and person.audience not in b.audiences]
    return render_template("practice/index.html", suggested=suggested, others=others, subjects=SUBJECTS,
                           wrong_count=_unresolved_count())


def _show(question: Question, origin: str, form: AnswerForm | None = None, error: str | None = None,
          status: int = 200):
    """The question page: stem and options only (no key, no explanation)."""
    shown = {"id": question.id, "qtype": question.qtype, "stem": question.stem, "image_id": question.image_id,
             "options": list(zip(LETTERS, question.options or [])), "bank": question.bank.name,
             "bank_id": question.bank_id}
    form = form or AnswerForm(origin=origin)
    return render_template("practice/question.html", q=shown, form=form, origin=origin, error=error,
                           type_label=REGISTRY[question.qtype].label), status


@bp.route("/bank/<int:bank_id>")
@login_required
def bank(bank_id: int):
    _person()
    bank = db.session.get(QuestionBank, bank_id)
    if bank is None or bank.status != "active":
        abort(404)
    stmt = select(Question).where(Question.bank_id == bank.id, Question.status == "active")
    after = request.args.get("after", type=int)
    if after:  # not the same question twice in a row, unless it is the only one
        other = db.session.scalar(stmt.where(Question.id != after).order_by(func.random()).limit(1))
        question = other or db.session.scalar(stmt.limit(1))
    else:
        question = db.session.scalar(stmt.order_by(func.random()).limit(1))
    if question is None:
        return render_template("practice/empty.html", bank=bank)
    return _show(question, "bank")


@bp.route("/question/<int:question_id>")
@login_required
def question(question_id: int):
    _person()
    origin = "wrong" if request.args.get("from") == "wrong" else "bank"
    return _show(_servable(question_id), origin)


def _read_response(question: Question) -> str | None:
    """The posted answer in stored letters; '' when nothing was chosen; None when it is not a valid answer."""
    picked = [v.strip().upper() for v in request.form.getlist("answer") if v.strip()]
    if not picked:
        return ""
    if question.qtype == "truefalse":
        return picked[0] if len(picked) == 1 and picked[0] in ("T", "F") else None
    allowed = LETTERS[: len(question.options or [])]
    if any(len(p) != 1 or p not in allowed for p in picked) or len(set(picked)) != len(picked):
        return None
    if question.qtype == "single" and len(picked) != 1:
        return None
    return "".join(sorted(picked))


def _record_wrong(question: Question, response: str) -> None:
    """Upsert into the wrong-answer book: one row per learner and question, counting the misses."""
    values = {"user_id": current_user.id, "question_id": question.id, "wrong_count": 1,
              "last_response": response, "last_wrong_at": utcnow(), "resolved": False}
    dialect = db.engine.dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = WrongAnswer.__table__
        stmt = insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.question_id],
            set_={"wrong_count": table.c.wrong_count + 1, "last_response": stmt.excluded.last_response,
                  "last_wrong_at": stmt.excluded.last_wrong_at, "resolved": False})
        db.session.execute(stmt)
        return
    entry = db.session.scalar(select(WrongAnswer).where(WrongAnswer.user_id == current_user.id,
                                                        WrongAnswer.question_id == question.id))
    if entry is None:  # pragma: no cover - other databases
        db.session.add(WrongAnswer(**values))
    else:  # pragma: no cover
        entry.wrong_count += 1
        entry.last_response, entry.last_wrong_at, entry.resolved = response, values["last_wrong_at"], False


@bp.route("/question/<int:question_id>", methods=["POST"])
@login_required
def answer(question_id: int):
    _person()
    question = _servable(question_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    origin = form.origin.data or "bank"
    response = _read_response(question)
    if response is None:
        abort(400)
    if response == "":
        return _show(question, origin, form, error=_("请先选择答案"))
    correct = REGISTRY[question.qtype].grade(question.answer, response, points=1, partial=False) >= 1 - 1e-9
    if correct:
        resolved = db.session.execute(update(WrongAnswer).where(
            WrongAnswer.user_id == current_user.id, WrongAnswer.question_id == question.id,
            WrongAnswer.resolved.is_(False)).values(resolved=True)).rowcount
    else:
        resolved = 0
        _record_wrong(question, response)
    db.session.commit()
    return render_template("practice/feedback.html", q=question, correct=correct, response=response,
                           resolved=bool(resolved), origin=origin, letters=LETTERS, answer_display=_answer_display,
                           type_label=REGISTRY[question.qtype].label)


@bp.route("/wrong")
@login_required
def wrong():
    _person()
    stmt = (select(WrongAnswer).join(Question, Question.id == WrongAnswer.question_id)
            .join(QuestionBank, QuestionBank.id == Question.bank_id)
            .where(WrongAnswer.user_id == current_user.id, WrongAnswer.resolved.is_(False),
                   Question.status == "active", QuestionBank.status == "active")
            .order_by(WrongAnswer.last_wrong_at.desc(), WrongAnswer.id.desc()))
    page = db.paginate(stmt, per_page=WRONG_PER_PAGE, error_out=False)
    return render_template("practice/wrong.html", page=page, types=REGISTRY)


@bp.route("/question/<int:question_id>/image")
@login_required
def image(question_id: int):
    _person()
    question = _servable(question_id)
    if question.image_id is None:
        abort(404)
    return files.image_response(question.image_id)
