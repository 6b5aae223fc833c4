"""Certificate PDFs with WeasyPrint: CJK fonts embedded (subset by HarfBuzz), QR code as SVG.

Fonts come from the system (fonts-noto-cjk); with libharfbuzz-subset0 installed, subsetting a
CJK font takes milliseconds instead of seconds. Nothing is fetched over the network: the URL
fetcher only accepts data: URIs, which is how the QR code and the seal are embedded.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import qrcode
from flask import render_template

from trainapp.certificates.models import Certificate, DistrictSeal
from trainapp.extensions import db
from trainapp.pdfdoc import html_to_pdf


def qr_svg(url: str) -> bytes:
    """The QR code for `url` as SVG: one stroked path, one horizontal line per run of dark modules.

    Vector, so it prints sharp; two path commands per run keep WeasyPrint's SVG parsing cheap
    (it parses every number of the path in Python on each render).
    """
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(url)
    qr.make(fit=True)
    modules = qr.get_matrix()
    size = len(modules)
    runs = []
    for y, row in enumerate(modules):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}.5h{x - start}")
            else:
                x += 1
    quiet = 2
    box = size + 2 * quiet
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-{quiet} -{quiet} {box} {box}" '
            f'width="{box * 4}" height="{box * 4}" shape-rendering="crispEdges">'
            f'<rect x="-{quiet}" y="-{quiet}" width="{box}" height="{box}" fill="#fff"/>'
            f'<path fill="none" stroke="#000" stroke-width="1" d="{"".join(runs)}"/></svg>').encode()


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


DEFAULT_SEAL = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="200" height="200">
<circle cx="100" cy="100" r="92" fill="none" stroke="#c8102e" stroke-width="7"/>
<circle cx="100" cy="100" r="80" fill="none" stroke="#c8102e" stroke-width="2"/>
<polygon fill="#c8102e" points="100,48 112,84 150,84 119,106 131,142 100,120 69,142 81,106 50,84 88,84"/>
</svg>"""


def seal_uri(district_id: int | None) -> str:
    if district_id is not None:
        seal = db.session.get(DistrictSeal, district_id)
        if seal is not None:
            from trainapp.files import StoredFile

            stored = db.session.get(StoredFile, seal.image_id)
            if stored is not None:
                return data_uri(stored.data, stored.media_type)
    return data_uri(DEFAULT_SEAL.encode(), "image/svg+xml")


@dataclass
class Page:
    """What one certificate page shows (also used for template previews with sample data)."""
    cert: Certificate
    qr: str
    seal: str
    verify_url: str


def page_for(cert: Certificate) -> Page:
    from trainapp.certificates.service import verify_url

    url = verify_url(cert)
    return Page(cert, data_uri(qr_svg(url), "image/svg+xml"), seal_uri(cert.district_id), url)


def render_pages(pages: list[Page], layout: str) -> bytes:
    """One PDF with a page per certificate."""
    html = render_template("certificates/document.html", pages=pages, layout=layout)
    return html_to_pdf(html)


def render(cert: Certificate) -> bytes:
    return render_pages([page_for(cert)], cert.template.layout)


def stored_pdf(cert: Certificate) -> bytes:
    """The certificate's PDF: rendered on first request, then stored and served as is."""
    if cert.pdf is None:
        cert.pdf = render(cert)
        db.session.commit()
    return cert.pdf
