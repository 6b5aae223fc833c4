"""Batch printing: stored PDFs (rendered first where missing) merged into one PDF, or zipped.

Runs in a background thread of the web process and records its progress in the database, so
any app server can report it; the merged file is stored on the job for download.
"""
from __future__ import annotations

import io
import logging
import threading
import zipfile

from flask import current_app
from sqlalchemy import select, update

from trainapp.certificates.models import BatchJob, Certificate
from trainapp.extensions import db
from trainapp.models import utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 5000
PROGRESS_EVERY = 20


def create(user_id: int, ids: list[int], kind: str) -> BatchJob:
    job = BatchJob(user_id=user_id, kind=kind, status="queued", certificate_ids=list(ids), total=len(ids), done=0)
    db.session.add(job)
    db.session.commit()
    return job


def start_in_background(job_id: int) -> threading.Thread:
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            run(job_id)

    thread = threading.Thread(target=work, name=f"certificate-batch-{job_id}", daemon=True)
    thread.start()
    return thread


def _set(job_id: int, **values) -> None:
    db.session.execute(update(BatchJob).where(BatchJob.id == job_id).values(**values))
    db.session.commit()


def run(job_id: int) -> None:
    """Build the job's file; failures are recorded on the job, never raised into a request."""
    from trainapp.certificates.pdf import stored_pdf

    job = db.session.get(BatchJob, job_id)
    if job is None or job.status != "queued":
        return
    _set(job_id, status="running")
    try:
        ids = list(job.certificate_ids)
        by_id = {c.id: c for c in db.session.scalars(select(Certificate).where(Certificate.id.in_(ids)))}
        parts: list[tuple[str, bytes]] = []
        for n, cert_id in enumerate(ids, 1):
            cert = by_id.get(cert_id)
            if cert is not None:
                parts.append((cert.number, stored_pdf(cert)))
            if n % PROGRESS_EVERY == 0:
                _set(job_id, done=n)
        result = _merge(parts) if job.kind == "pdf" else _zip(parts)
        _set(job_id, status="done", done=len(ids), result=result, finished_at=utcnow())
    except Exception as exc:  # recorded for the user; the traceback goes to the log
        log.exception("certificate batch %s failed", job_id)
        db.session.rollback()
        _set(job_id, status="failed", error=str(exc)[:500], finished_at=utcnow())


# PDFium is not thread-safe: one merge at a time per process.
_PDFIUM = threading.Lock()


def _merge(parts: list[tuple[str, bytes]]) -> bytes:
    """Pages of the stored PDFs in one document (PDFium copies pages natively: ~1 ms a page)."""
    import pypdfium2

    with _PDFIUM:
        merged = pypdfium2.PdfDocument.new()
        try:
            for _number, data in parts:
                source = pypdfium2.PdfDocument(data)
                try:
                    merged.import_pages(source)
                finally:
                    source.close()
            out = io.BytesIO()
            merged.save(out)
        finally:
            merged.close()
    return out.getvalue()


def render_later(cert_ids: list[int]) -> None:
    """Render and store these certificates' PDFs in a background thread (so downloads and batches find them ready)."""
    if not cert_ids or current_app.config.get("TESTING"):
        return
    app = current_app._get_current_object()

    def work():
        from trainapp.certificates.pdf import stored_pdf

        with app.app_context():
            for cert_id in cert_ids:
                cert = db.session.get(Certificate, cert_id)
                if cert is not None:
                    try:
                        stored_pdf(cert)
                    except Exception:  # the PDF is rendered on first download instead
                        log.exception("rendering certificate %s failed", cert_id)
                        db.session.rollback()

    threading.Thread(target=work, name="certificate-render", daemon=True).start()


def _zip(parts: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:  # PDFs are already compressed
        for number, data in parts:
            zf.writestr(f"{number}.pdf", data)
    return out.getvalue()
