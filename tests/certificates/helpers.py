"""Certificates issued through the real exam flow."""
from __future__ import annotations

import io

from tests.exams.helpers import key_in_shown_letters, make_bank, make_exam
from trainapp.certificates import service as cert_service
from trainapp.exams import service as exam_service
from trainapp.extensions import db


def pass_exam(user, exam, now=None):
    """Start, answer everything right, submit; returns the attempt."""
    attempt = exam_service.start_attempt(user, exam, now=now)
    for item in attempt.items:
        exam_service.save_answer(attempt, item.position, key_in_shown_letters(item), now=now)
    exam_service.submit(attempt, now=now)
    db.session.commit()
    return attempt


def certified_exam(title="工贸隐患判定考试", **settings):
    cert_service.ensure_default_template()
    bank = make_bank(title + "题库")
    exam = make_exam(bank, title=title, certificate_template="standard", subject="hazard_industry_trade",
                     parts=(("single", 2, ""), ("truefalse", 2, "")), **settings)
    return exam


def rasterise(pdf_bytes: bytes, page: int = 0, scale: float = 2.0):
    """A PDF page as a PIL image (pdfium)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(io.BytesIO(pdf_bytes))
    image = doc[page].render(scale=scale).to_pil()
    doc.close()
    return image


def decode_qr(image) -> str:
    import zxingcpp

    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code found on the page"
    return found[0].text
