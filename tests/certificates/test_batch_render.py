"""Batch print of certificates without stored PDFs (rendered in chunks), the QR code's construction,
and the PDF options the certificates use (stylesheet cache, stream compression, font subsetting)."""
from __future__ import annotations

import datetime as dt
import io
import random
import string
import zipfile

import pytest
import qrcode
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from sqlalchemy import insert, select

from tests import factories
from tests.certificates.helpers import decode_qr, rasterise
from trainapp.auth.models import RoleGrant
from trainapp.certificates import batch, pdf, service
from trainapp.certificates.models import BatchJob, Certificate
from trainapp.pdfdoc import html_to_pdf, stylesheet

NAMES = ["甲一", "乙二", "丙三", "丁四", "戊五", "己六", "庚七"]


@pytest.fixture
def owner(db):
    user = factories.user("batch-owner", RoleGrant(role="admin"))
    db.session.commit()
    return user


def _certificates(db, owner, names, district_id=None) -> list[int]:
    """Certificates issued directly (no exam flow), no PDF stored; ids in insertion order."""
    tpl = service.ensure_default_template()
    db.session.flush()
    rows = [dict(number=f"SH-TST-2026-{n + 1:06d}", code=service.new_code(), template_id=tpl.id, user_id=owner.id,
                 district_id=district_id,
                 holder_name=name, id_masked="310101********1234", unit_name="上海示例机械有限公司",
                 audience="主要负责人", exam_title="工贸企业重大事故隐患判定标准考试", subject_name="",
                 score=90, max_score=100, issued_on=dt.date(2026, 11, 23), valid_until=dt.date(2027, 11, 22),
                 issuing_body="测试区应急管理局", status="valid") for n, name in enumerate(names)]
    db.session.execute(insert(Certificate), rows)
    db.session.commit()
    return list(db.session.scalars(select(Certificate.id).order_by(Certificate.id)))


def _run(db, owner, ids, kind="pdf") -> BatchJob:
    job = batch.create(owner.id, ids, kind)
    batch.run(job.id)
    db.session.expire_all()
    job = db.session.get(BatchJob, job.id)
    assert job.status == "done", job.error
    assert job.done == job.total == len(ids)
    return job


def _page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _holder_on(text: str) -> str:
    found = [name for name in NAMES + ["龚𠮷䶮", "已存证书"] if name in text]
    assert len(found) == 1, text
    return found[0]


def test_unstored_batch_is_one_page_per_certificate_in_the_requested_order(db, owner, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 3)  # 7 certificates: chunks of 3, 3 and 1
    ids = _certificates(db, owner, NAMES)
    wanted = [ids[i] for i in (4, 0, 6, 2, 5, 1, 3)]
    job = _run(db, owner, wanted)
    texts = _page_texts(job.result)
    assert len(texts) == len(wanted)
    assert [_holder_on(t) for t in texts] == [NAMES[i] for i in (4, 0, 6, 2, 5, 1, 3)]
    # Nothing was stored on the certificates by the batch.
    assert db.session.scalar(select(Certificate.id).where(Certificate.pdf.is_not(None))) is None


def test_mixed_batch_takes_stored_pdfs_as_they_are_and_keeps_the_order(db, owner, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)
    ids = _certificates(db, owner, NAMES[:5])
    # Two certificates have a stored PDF; one of them deliberately differs from what a render would give.
    marked = db.session.get(Certificate, ids[1])
    marked.pdf = html_to_pdf('<p style="font-family: \'WenQuanYi Micro Hei\'">已存证书</p>')
    pdf.stored_pdf(db.session.get(Certificate, ids[3]))
    db.session.commit()
    wanted = [ids[3], ids[0], ids[1], ids[4], ids[2]]
    texts = _page_texts(_run(db, owner, wanted).result)
    assert [_holder_on(t) for t in texts] == [NAMES[3], NAMES[0], "已存证书", NAMES[4], NAMES[2]]


def test_rare_characters_in_a_batch_are_text_and_in_an_embedded_font(db, owner):
    ids = _certificates(db, owner, ["甲一", "龚𠮷䶮", "乙二"])
    data = _run(db, owner, ids).result
    reader = PdfReader(io.BytesIO(data))
    assert "龚𠮷䶮" in reader.pages[1].extract_text()
    fonts = [str(font.get_object()["/BaseFont"]) for font in reader.pages[1]["/Resources"]["/Font"].values()]
    assert any("Noto" in name for name in fonts), fonts
    assert decode_qr(rasterise(data, page=1)).endswith(service.token_for(db.session.get(Certificate, ids[1])))


def test_batch_pages_carry_the_districts_uploaded_seal(db, owner):
    from PIL import Image

    from trainapp import files
    from trainapp.certificates.models import DistrictSeal

    district = factories.district("印章区", "YZQ")
    buf = io.BytesIO()
    Image.new("RGBA", (80, 80), (0, 160, 0, 255)).save(buf, "PNG")  # a green square, unlike the default seal
    stored = files.store(buf.getvalue(), "image/png", "seal.png", owner.id)
    db.session.flush()
    db.session.add(DistrictSeal(district_id=district.id, image_id=stored.id))
    db.session.commit()
    ids = _certificates(db, owner, NAMES[:2], district_id=district.id)
    data = _run(db, owner, ids).result
    import numpy as np

    for page in range(2):
        pixels = np.asarray(rasterise(data, page=page, scale=0.5).convert("RGB")).astype(int)
        greens = ((pixels[..., 1] > 100) & (pixels[..., 0] < 80) & (pixels[..., 2] < 80)).sum()
        assert greens > 100, page


def test_zip_of_unstored_certificates_has_a_one_page_pdf_each(db, owner, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)
    ids = _certificates(db, owner, NAMES[:3])
    pdf.stored_pdf(db.session.get(Certificate, ids[2]))
    db.session.commit()
    archive = zipfile.ZipFile(io.BytesIO(_run(db, owner, ids, kind="zip").result))
    assert archive.namelist() == [f"SH-TST-2026-{n:06d}.pdf" for n in (1, 2, 3)]
    for name, holder in zip(archive.namelist(), NAMES[:3]):
        texts = _page_texts(archive.read(name))
        assert len(texts) == 1 and holder in texts[0]


def test_batch_progress_is_recorded_while_rendering(db, owner, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)
    monkeypatch.setattr(batch, "PROGRESS_EVERY", 2)
    ids = _certificates(db, owner, NAMES[:5])
    seen = []
    real_set = batch._set

    def recording_set(job_id, **values):
        seen.append(values.get("done"))
        real_set(job_id, **values)

    monkeypatch.setattr(batch, "_set", recording_set)
    _run(db, owner, ids)
    assert [n for n in seen if n is not None] == [2, 4, 5]


def test_chunks_can_be_rendered_in_worker_processes(app, db, owner, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_PROCESSES", 2)
    pools = []
    real_context = batch._worker_context
    monkeypatch.setattr(batch, "_worker_context", lambda: pools.append(1) or real_context())
    ids = _certificates(db, owner, NAMES[:5])
    wanted = list(reversed(ids))
    texts = _page_texts(_run(db, owner, wanted).result)
    assert pools == [1]  # 3 chunks, 2 processes
    assert [_holder_on(t) for t in texts] == list(reversed(NAMES[:5]))


# --- QR code ---------------------------------------------------------------------------------

def test_qr_symbol_is_the_one_qrcode_builds_with_its_own_mask_choice():
    rng = random.Random(5)
    for length in (10, 28, 40, 57, 90, 150, 250):  # versions 2 to 10, including the version-info ones
        url = "http://testserver/verify/" + "".join(rng.choice(string.ascii_letters + "-_") for _ in range(length))
        reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        reference.add_data(url)
        reference.make(fit=True)
        assert pdf.qr_matrix(url) == reference.get_matrix(), url


def test_qr_strokes_paint_exactly_the_dark_modules():
    modules = pdf.qr_matrix("http://testserver/verify/" + "Ab3-_" * 6)
    size = len(modules)
    painted = [[False] * size for _ in range(size)]
    strokes = pdf.qr_strokes(modules)
    for stroke in strokes:
        start, _h, length = stroke[1:].partition("h")
        x, y = (float(v) for v in start.split())
        assert y == int(y) + 0.5  # along the middle of the row
        for k in range(int(length)):
            assert not painted[int(y)][int(x) + k], stroke  # no module painted twice
            painted[int(y)][int(x) + k] = True
    assert painted == [[bool(m) for m in row] for row in modules]


def _qr_page(stroke_paths: bool, d: str | None = None) -> bytes:
    svg = pdf.qr_svg("http://testserver/verify/" + "Zz9-_" * 6).decode()
    if d is not None:
        svg = svg[:svg.index(' d="') + 4] + d + svg[svg.index('"/></svg>'):]
    html = f'<img style="width: 60mm; height: 60mm" src="{pdf.data_uri(svg.encode(), "image/svg+xml")}">'
    return html_to_pdf(html, stroke_paths=stroke_paths)


def test_stroke_paths_draw_the_same_qr_code_as_weasyprints_own_path_parser():
    fast, slow = _qr_page(True), _qr_page(False)
    assert decode_qr(rasterise(fast)) == decode_qr(rasterise(slow)) == "http://testserver/verify/" + "Zz9-_" * 6
    assert rasterise(fast, scale=1.5).tobytes() == rasterise(slow, scale=1.5).tobytes()


def test_paths_of_another_form_go_through_weasyprints_parser():
    # Relative moves are not the stroke form: drawn by WeasyPrint itself, and still drawn right.
    d = "m1 1.5h3m1 0v3"
    fast, slow = _qr_page(True, d), _qr_page(False, d)
    assert rasterise(fast, scale=1.5).tobytes() == rasterise(slow, scale=1.5).tobytes()
    blank = _qr_page(False, "")
    assert rasterise(fast, scale=1.5).tobytes() != rasterise(blank, scale=1.5).tobytes()


def test_prepare_workers_starts_the_fork_server_once_outside_tests(app, db, monkeypatch):
    from multiprocessing import forkserver

    monkeypatch.setattr(batch, "_prepared", batch.threading.Event())
    assert batch.prepare_workers() is None  # TESTING: nothing started
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_PROCESSES", 1)
    assert batch.prepare_workers() is None  # batches render in this process
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_PROCESSES", 2)
    thread = batch.prepare_workers()
    assert thread is not None
    thread.join(60)
    assert forkserver._forkserver._forkserver_pid is not None
    assert batch.prepare_workers() is None  # once per process


# --- PDF options ----------------------------------------------------------------------------

def test_stylesheet_is_parsed_once_per_text():
    css = "p { color: #123456; }"
    assert stylesheet(css) is stylesheet(css)
    assert stylesheet(css) is not stylesheet(css + " ")


def _font_program(data: bytes) -> TTFont:
    page = PdfReader(io.BytesIO(data)).pages[0]
    font = next(iter(page["/Resources"]["/Font"].values())).get_object()
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    return TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))


def test_single_pass_subset_and_lower_compression_only_when_asked():
    html = '<p style="font-family: \'WenQuanYi Micro Hei\'">安全生产培训考试合格</p>'
    fast = html_to_pdf(html, zlib_level=1, single_pass_subset=True)
    default = html_to_pdf(html)
    assert "安全生产培训考试合格" in _page_texts(fast)[0] and "安全生产培训考试合格" in _page_texts(default)[0]
    # One pass drops the vertical metrics and layout tables; WeasyPrint's own subsetting keeps them.
    assert "vmtx" not in _font_program(fast) and "vmtx" in _font_program(default)
    # Streams of the fast PDF are zlib level 1 (header 78 01), the default's pydyf's level 9 (78 DA).
    assert b"stream\n\x78\x01" in fast and b"stream\n\x78\x01" not in default
    assert b"stream\n\x78\xda" in default
