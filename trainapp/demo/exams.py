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
    from trainapp.certificates.service import DEFAULT_TEMPLATE, ensure_default_template

    ensure_default_template()
    trainer = db.session.scalar(select(User).where(User.username == "trainer"))
    added = 0
    for title, key, subject, parts, minutes, audiences in DEMO_EXAMS:
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == key))
        existing = db.session.scalar(select(Exam).where(Exam.title == title))
        if existing is not None and not existing.certificate_template:
            existing.certificate_template = DEFAULT_TEMPLATE
        if bank is None or existing is not None:
            continue
        exam = Exam(title=title, subject=subject, status="published", owner_id=trainer.id if trainer else None,
                    audiences=audiences, time_limit_minutes=minutes, pass_percent=60, max_attempts=3,
                    retry_wait_minutes=0, counts="highest", shuffle_questions=True, shuffle_options=True,
                    one_per_page=True, review_content="full", review_when="immediately",
                    points_single=4, points_multiple=6, points_truefalse=2, partial_credit=False,
                    certificate_template=DEFAULT_TEMPLATE,
                    description="本考试从系统内置题库随机抽题，每次考试的题目不同。")
        for position, (qtype, count) in enumerate(parts):
            exam.parts.append(ExamPart(position=position, bank_id=bank.id, qtype=qtype, count=count, tag=""))
        db.session.add(exam)
        added += 1
    db.session.flush()
    return added


DEMO_PASSERS = 6  # learner accounts 13700000002… who passed the first demo exam


def ensure_demo_certificates(password: str) -> int:
    """Learners who passed and hold certificates, one of them expired and one revoked (idempotent)."""
    import datetime as dt

    from trainapp.auth.models import RoleGrant
    from trainapp.certificates import service as cert_service
    from trainapp.certificates.models import Certificate
    from trainapp.exams import service as exam_service
    from trainapp.org.models import Person

    if db.session.scalar(select(Certificate.id).limit(1)) is not None:
        return 0
    exam = db.session.scalar(select(Exam).where(Exam.title == DEMO_EXAMS[0][0]))
    if exam is None:
        return 0
    issued = 0
    for serial in range(2, 2 + DEMO_PASSERS):
        mobile = f"137{serial:08d}"
        person = db.session.scalar(select(Person).where(Person.mobile == mobile))
        if person is None:
            continue
        user = db.session.scalar(select(User).where(User.mobile == mobile))
        if user is None:
            user = User(mobile=mobile, display_name=person.name, person_id=person.id)
            user.set_password(password)
            user.grants = [RoleGrant(role="learner")]
            db.session.add(user)
            db.session.flush()
        attempt = exam_service.start_attempt(user, exam)
        for item in attempt.items:
            exam_service.save_answer(attempt, item.position, exam_service.to_displayed(item, item.version.answer))
        exam_service.submit(attempt)
        db.session.commit()
        issued += 1
    certs = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    if len(certs) >= 2:
        expired = certs[0]
        expired.issued_on, expired.valid_until = dt.date(2024, 6, 3), dt.date(2025, 6, 2)
        if admin is not None:
            cert_service.revoke(certs[1], "演示数据：单位名称录入有误", admin)
        db.session.commit()
    return issued
