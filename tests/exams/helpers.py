"""Banks and exams for the exam tests."""
from __future__ import annotations

import datetime as dt

from trainapp.exams.models import Exam, ExamPart
from trainapp.extensions import db
from trainapp.questionbank import service as bank_service
from trainapp.questionbank.models import Question, join_tags, stem_hash


def make_bank(name: str = "测试题库", singles: int = 6, multiples: int = 4, truefalse: int = 4,
              tag_every: int = 2, owner=None):
    """Single choice: key A of 4 options; multiple: key AC of 4; true/false: key T. Every `tag_every`-th is tagged 重点."""
    bank = bank_service.new_bank(name, owner.id if owner else None)
    n = 0
    for qtype, count, options, answer in (("single", singles, ["对的", "错一", "错二", "错三"], "A"),
                                          ("multiple", multiples, ["对甲", "错甲", "对乙", "错乙"], "AC"),
                                          ("truefalse", truefalse, [], "T")):
        for i in range(count):
            n += 1
            stem = f"{name}{qtype}第{i + 1}题"
            tags = ["重点"] if i % tag_every == 0 else []
            db.session.add(Question(bank_id=bank.id, qtype=qtype, stem=stem, stem_hash=stem_hash(stem),
                                    options=list(options), answer=answer, explanation=f"{stem}的解析", source="测试",
                                    tags=join_tags(tags), status="active", version=1, times_answered=0,
                                    times_correct=0))
    db.session.commit()
    return bank


def make_exam(bank, parts=(("single", 3, ""), ("multiple", 2, ""), ("truefalse", 2, "")), owner=None, **settings):
    defaults = dict(title="隐患判定标准考试", status="published", time_limit_minutes=30, pass_percent=60,
                    max_attempts=3, retry_wait_minutes=0, counts="highest", shuffle_questions=True,
                    shuffle_options=True, one_per_page=True, review_content="full", review_when="immediately",
                    points_single=2, points_multiple=4, points_truefalse=1, partial_credit=False,
                    audiences=[], owner_id=owner.id if owner else None)
    defaults.update(settings)
    exam = Exam(**defaults)
    for position, (qtype, count, tag) in enumerate(parts):
        exam.parts.append(ExamPart(position=position, bank_id=bank.id, qtype=qtype, count=count, tag=tag))
    db.session.add(exam)
    db.session.commit()
    return exam


def key_in_shown_letters(item) -> str:
    """The correct answer translated into the letters this attempt shows (what a perfect learner picks)."""
    from trainapp.exams.service import to_displayed

    return to_displayed(item, item.version.answer)


def later(minutes: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
