"""The demo data: loads twice without change, and shows the whole learner path (exams, certificates)."""
from sqlalchemy import func, select

from trainapp.certificates.models import Certificate
from trainapp.demo.data import load_small
from trainapp.exams.models import Exam
from trainapp.org.seed import seed_sectors
from trainapp.questionbank.service import load_shipped, shipped_directory


def test_demo_load_is_idempotent_and_has_certificates(db):
    seed_sectors()
    load_shipped(shipped_directory())
    load_small()
    db.session.commit()
    counts = (db.session.scalar(select(func.count(Exam.id))), db.session.scalar(select(func.count(Certificate.id))))
    load_small()
    db.session.commit()
    assert counts == (db.session.scalar(select(func.count(Exam.id))),
                      db.session.scalar(select(func.count(Certificate.id))))
    assert counts[0] == 2 and counts[1] == 6
    states = sorted(c.state() for c in db.session.scalars(select(Certificate)))
    assert states.count("expired") == 1 and states.count("revoked") == 1 and states.count("valid") == 4
    assert all(e.certificate_template == "standard" for e in db.session.scalars(select(Exam)))
