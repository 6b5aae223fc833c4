"""Batch printing: the certificates of a job in one PDF (a page each, in the job's order) or zipped.

Runs in a background thread of the web process and records its progress in the database, so any
app server can report it; the merged file is stored on the job for download.

Certificates whose PDF is stored are taken as stored. The others are rendered together, CHUNK
certificates to a WeasyPrint document (one page each), so that the stylesheet, fonts and font
subsetting are dealt with once per chunk; with several chunks to render and more than one core,
chunks are rendered in worker processes (`CERTIFICATE_BATCH_PROCESSES`, default the core count up
to 2; 0 or 1 renders in this process). PDFium then copies the pages into one document in the job's
order, stored and rendered pages mixed as they come. For a zip, rendered pages are split into
one-page PDFs. Rendered PDFs are not stored on the certificates: a one-page PDF cut from a chunk
carries the chunk's font subset, so the stored PDF stays the one rendered for that certificate alone.
"""
from __future__ import annotations

import io
import logging
import os
import threading
import zipfile
from collections import deque

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from trainapp.certificates.models import BatchJob, Certificate
from trainapp.extensions import db
from trainapp.models import utcnow

log = logging.getLogger(__name__)
MAX_BATCH = 5000
PROGRESS_EVERY = 20
CHUNK = 100  # certificates per WeasyPrint document when rendering a batch
STORED_SLICE = 200  # stored PDFs read from the database at a time


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


class _Progress:
    """Counts certificates whose page is ready and records the count now and then."""

    def __init__(self, job_id: int):
        self.job_id, self.done, self.recorded = job_id, 0, 0

    def add(self, n: int = 1) -> None:
        self.done += n
        if self.done - self.recorded >= PROGRESS_EVERY:
            self.recorded = self.done
            _set(self.job_id, done=self.done)


def run(job_id: int) -> None:
    """Build the job's file; failures are recorded on the job, never raised into a request.

    Progress is committed as it goes; the session does not expire what it loaded on those commits
    (the certificates would otherwise be read again one by one).
    """
    job = db.session.get(BatchJob, job_id)
    if job is None or job.status != "queued":
        return
    _set(job_id, status="running")
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        ids = list(job.certificate_ids)
        kind = job.kind
        certs = {c.id: c for c in db.session.scalars(
            select(Certificate).where(Certificate.id.in_(ids)).options(selectinload(Certificate.template)))}
        order = [i for i in ids if i in certs]  # certificates deleted since the job was made are left out
        stored = set(db.session.scalars(select(Certificate.id).where(
            Certificate.id.in_(order), Certificate.pdf.is_not(None)))) if order else set()
        progress = _Progress(job_id)
        missing = [certs[i] for i in order if i not in stored]
        chunks = render_chunks(missing, progress.add)
        pages = _page_sources(order, stored, missing)
        result = _merge(pages, chunks, progress) if kind == "pdf" else _zip(pages, chunks, certs, progress)
        _set(job_id, status="done", done=len(ids), result=result, finished_at=utcnow())
    except Exception as exc:  # recorded for the user; the traceback goes to the log
        log.exception("certificate batch %s failed", job_id)
        db.session.rollback()
        _set(job_id, status="failed", error=str(exc)[:500], finished_at=utcnow())
    finally:
        session.expire_on_commit = expire_on_commit


# --- rendering ---------------------------------------------------------------------------

def _processes(chunks: int) -> int:
    configured = current_app.config.get("CERTIFICATE_BATCH_PROCESSES")
    wanted = min(os.cpu_count() or 1, 2) if configured is None else int(configured)
    return min(wanted, chunks)


def render_chunks(certs: list[Certificate], on_rendered=None) -> list[bytes]:
    """PDFs of `certs` in order, CHUNK certificates (pages) to a document.

    `on_rendered(n)` is called as each document is ready. The HTML is built here (templates and
    database); WeasyPrint runs here too or, with several chunks and processes allowed, in worker
    processes (see `_worker_context`).
    """
    from trainapp.certificates import pdf
    from trainapp.pdfdoc import html_to_pdf

    if not certs:
        return []
    css = pdf.stylesheet()
    seals: dict = {}
    groups = [certs[i:i + CHUNK] for i in range(0, len(certs), CHUNK)]

    def html_of(group):
        return pdf.document_html([pdf.page_for(cert, seals) for cert in group])

    processes = _processes(len(groups))
    results: list[bytes] = []
    if processes <= 1:
        for group in groups:
            results.append(html_to_pdf(html_of(group), css=css, zlib_level=pdf.ZLIB_LEVEL,
                                       single_pass_subset=True, stroke_paths=True))
            if on_rendered:
                on_rendered(len(group))
        return results

    from concurrent.futures import ProcessPoolExecutor

    from trainapp.pdfdoc import html_to_pdf_in_worker

    pending: deque = deque()

    def collect_oldest():
        size, future = pending.popleft()
        results.append(future.result())
        if on_rendered:
            on_rendered(size)

    with ProcessPoolExecutor(processes, mp_context=_worker_context()) as pool:
        for group in groups:
            pending.append((len(group), pool.submit(html_to_pdf_in_worker, html_of(group), css, pdf.ZLIB_LEVEL)))
            while len(pending) > processes:  # keep every worker busy with one more waiting
                collect_oldest()
        while pending:
            collect_oldest()
    return results


_prepared = threading.Event()


def prepare_workers() -> threading.Thread | None:
    """Start the workers' fork server in the background, once per process, if batches use workers.

    The fork server imports WeasyPrint (about 2 s on 2 cores) before it forks its first worker; the
    certificate list, where batches are started, calls this so that the first batch finds it running.
    """
    if _prepared.is_set() or _processes(2) <= 1 or current_app.config.get("TESTING"):
        return None
    _prepared.set()

    def start():
        from multiprocessing import forkserver

        _worker_context()
        try:
            forkserver.ensure_running()
        except Exception:  # a batch starts it again when it needs it
            log.exception("starting the certificate workers' fork server failed")

    thread = threading.Thread(target=start, name="certificate-forkserver", daemon=True)
    thread.start()
    return thread


def _worker_context():
    """Worker processes forked from multiprocessing's fork server, which has WeasyPrint imported.

    The fork server is a fresh single-threaded process (forking this threaded web process would
    copy locks held by other threads); it starts with the first batch and is reused by later ones,
    so a worker starts in milliseconds instead of spending about 2 s importing trainapp and WeasyPrint.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["trainapp.pdfdoc", "weasyprint"])
    return context


def _page_sources(order: list[int], stored: set[int], missing: list[Certificate]) -> list[tuple]:
    """Where each page of the job comes from, in order: ("stored", id) or ("rendered", id, chunk, page)."""
    position = {cert.id: n for n, cert in enumerate(missing)}
    return [("stored", i) if i in stored else ("rendered", i, *divmod(position[i], CHUNK)) for i in order]


def _stored_pdfs(pages: list[tuple]):
    """(id, stored PDF) for the stored pages, in order, read a slice at a time."""
    ids = [page[1] for page in pages if page[0] == "stored"]
    for start in range(0, len(ids), STORED_SLICE):
        some = ids[start:start + STORED_SLICE]
        data = dict(db.session.execute(select(Certificate.id, Certificate.pdf).where(Certificate.id.in_(some))).all())
        for cert_id in some:
            yield cert_id, data[cert_id]


# --- assembling ----------------------------------------------------------------------------

# PDFium is not thread-safe: one merge at a time per process.
_PDFIUM = threading.Lock()


def _merge(pages: list[tuple], chunks: list[bytes], progress: _Progress | None = None) -> bytes:
    """The pages in order in one document (PDFium copies pages natively: about 1 ms a page).

    Runs of consecutive pages from one rendered chunk are copied in one call, so that they share
    the chunk's fonts in the result instead of getting a copy each.
    """
    import pypdfium2

    stored = _stored_pdfs(pages)
    with _PDFIUM:
        merged = pypdfium2.PdfDocument.new()
        sources = [pypdfium2.PdfDocument(data) for data in chunks]
        try:
            n = 0
            while n < len(pages):
                if pages[n][0] == "stored":
                    _cert_id, data = next(stored)
                    source = pypdfium2.PdfDocument(data)
                    try:
                        merged.import_pages(source)
                    finally:
                        source.close()
                    if progress:
                        progress.add()
                    n += 1
                    continue
                _kind, _cert_id, chunk, first = pages[n]
                last = first
                while (n + 1 < len(pages) and pages[n + 1][0] == "rendered" and pages[n + 1][2] == chunk
                       and pages[n + 1][3] == last + 1):
                    n += 1
                    last += 1
                merged.import_pages(sources[chunk], pages=list(range(first, last + 1)))
                n += 1
            out = io.BytesIO()
            merged.save(out)
        finally:
            for source in sources:
                source.close()
            merged.close()
    return out.getvalue()


def _single_pages(chunks: list[bytes]):
    """Each page of the rendered chunks as a one-page PDF, in order."""
    import pypdfium2

    for data in chunks:
        with _PDFIUM:
            source = pypdfium2.PdfDocument(data)
            try:
                singles = []
                for index in range(len(source)):
                    single = pypdfium2.PdfDocument.new()
                    try:
                        single.import_pages(source, pages=[index])
                        out = io.BytesIO()
                        single.save(out)
                    finally:
                        single.close()
                    singles.append(out.getvalue())
            finally:
                source.close()
        yield from singles


def _zip(pages: list[tuple], chunks: list[bytes], certs: dict, progress: _Progress | None = None) -> bytes:
    stored, singles = _stored_pdfs(pages), _single_pages(chunks)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:  # PDFs are already compressed
        for kind, cert_id, *_where in pages:
            if kind == "stored":
                _same_id, data = next(stored)
                if progress:
                    progress.add()
            else:
                data = next(singles)
            zf.writestr(f"{certs[cert_id].number}.pdf", data)
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
