"""Demo exams drawn from the shipped banks, so a fresh install shows the learner's whole path."""
from __future__ import annotations

from sqlalchemy import select

from trainapp.auth.models import User
from trainapp.exams.models import Exam, ExamPart
from trainapp.extensions import db
from trainapp.questionbank.models import QuestionBank

# (title, bank shipped_key, subject, [(type, count)], minutes, audiences)
DEMO_EXAMS = [
    ("工贸企业重大事故隐患判定标准考试", "hazard_industry_trade", "hazard_industry_trade",
     [("single", 10), ("multiple", 5), ("truefalse", 5)], 30, []),
    ("安全生产法知识考试", "work_safety_law", "work_safety_law",
     [("single", 10), ("multiple", 5), ("truefalse", 5)], 30, []),
]


def ensure_demo_exams() -> int:
    """Publish the demo exams whose banks are loaded and that do not exist yet; returns how many were added."""
    trainer = db.session.scalar(select(User).where(User.username == "trainer"))
    added = 0
    for title, key, subject, parts, minutes, audiences in DEMO_EXAMS:
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == key))
        if bank is None or db.session.scalar(select(Exam.id).where(Exam.title == title)) is not None:
            continue
        exam = Exam(title=title, subject=subject, status="published", owner_id=trainer.id if trainer else None,
                    audiences=audiences, time_limit_minutes=minutes, pass_percent=60, max_attempts=3,
                    retry_wait_minutes=0, counts="highest", shuffle_questions=True, shuffle_options=True,
                    one_per_page=True, review_content="full", review_when="immediately",
                    points_single=4, points_multiple=6, points_truefalse=2, partial_credit=False,
                    description="本考试从系统内置题库随机抽题，每次考试的题目不同。")
        for position, (qtype, count) in enumerate(parts):
            exam.parts.append(ExamPart(position=position, bank_id=bank.id, qtype=qtype, count=count, tag=""))
        db.session.add(exam)
        added += 1
    db.session.flush()
    return added
