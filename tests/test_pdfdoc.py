"""PDF rendering reuses one font configuration per thread (WeasyPrint's per-document ones are never freed)."""
import io
import threading

import pytest
from pypdf import PdfReader
from weasyprint.urls import FatalURLFetchingError

from trainapp.pdfdoc import font_config, html_to_pdf


def test_font_configuration_is_reused_within_a_thread_and_separate_across_threads():
    first = font_config()
    assert font_config() is first
    other = []
    t = threading.Thread(target=lambda: other.append(font_config()))
    t.start()
    t.join()
    assert other[0] is not first


def test_rendered_pdf_has_selectable_chinese_and_refuses_outside_urls():
    pdf = html_to_pdf('<html><body style="font-family: \'WenQuanYi Micro Hei\'"><p>张𠮷 合格证明</p></body></html>')
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "合格证明" in text
    assert html_to_pdf("<p>再来一份</p>").startswith(b"%PDF")
    with pytest.raises(FatalURLFetchingError):
        html_to_pdf('<p>外链</p><img src="http://127.0.0.1:9/x.png">')
