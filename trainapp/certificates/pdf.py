"""Certificate PDFs with WeasyPrint: CJK fonts embedded (subset by HarfBuzz), QR code as SVG.

Fonts come from the system (fonts-wqy-microhei as the main face, fonts-noto-cjk for rare characters);
with libharfbuzz-subset0 installed, subsetting a CJK font takes milliseconds instead of seconds.
Nothing is fetched over the network: the URL fetcher only accepts data: URIs, which is how the QR
code and the seal are embedded.

Several certificates can be rendered as one document (`render_pages`, one page each): the batch print
does that in chunks, so that fonts are subset and streams compressed once per chunk, not per page.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

import qrcode
from flask import current_app, render_template

from trainapp.certificates.models import Certificate, DistrictSeal
from trainapp.extensions import db
from trainapp.pdfdoc import html_to_pdf

# zlib level of the PDF streams: pydyf uses 9, which spent about 15 ms of each render on the subset
# font alone; level 1 takes 1–2 ms and makes a certificate PDF about 5 % larger.
ZLIB_LEVEL = 1


# --- QR code -------------------------------------------------------------------------------

class _QRCode(qrcode.QRCode):
    """Remembers which modules carry data (and are masked): the ones still empty when data is mapped."""

    data_cells = None

    def map_data(self, data, mask_pattern):
        if self.data_cells is None:
            self.data_cells = [[module is None for module in row] for row in self.modules]
        super().map_data(data, mask_pattern)


@lru_cache(maxsize=8)
def _masks(size: int):
    """The eight QR mask patterns (ISO/IEC 18004, as in qrcode.util.mask_func) for a size×size symbol."""
    import numpy as np

    i, j = np.indices((size, size))
    return np.stack([(i + j) % 2 == 0, i % 2 == 0, j % 3 == 0, (i + j) % 3 == 0, (i // 2 + j // 3) % 2 == 0,
                     (i * j) % 2 + (i * j) % 3 == 0, ((i * j) % 2 + (i * j) % 3) % 2 == 0,
                     ((i * j) % 3 + (i + j) % 2) % 2 == 0])


@dataclass(frozen=True)
class _Layout:
    data: object        # size×size booleans: the modules that carry data (and are masked)
    scored: object      # the function patterns with the format (and version) areas light, as qrcode scores
    final: object       # 8×size×size: the function patterns with each mask's format (and version) information
    rows: object        # the data modules in the order the bits are placed
    cols: object


@lru_cache(maxsize=40)
def _layout(version: int) -> _Layout:
    """What a level-M symbol of this version looks like apart from its data, worked out once with qrcode."""
    import numpy as np

    qr = _QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.data_cache = []  # no data: map_data leaves the data modules to the mask alone
    qr.makeImpl(True, 0)
    data = np.array(qr.data_cells, dtype=bool)
    scored = np.array(qr.modules, dtype=bool) & ~data
    final = []
    for mask in range(8):
        qr.setup_type_info(False, mask)
        if version >= 7:
            qr.setup_type_number(False)
        final.append(np.array(qr.modules, dtype=bool) & ~data)
    # The placement order of qrcode's map_data: two columns at a time from the right, up then down,
    # skipping the vertical timing column.
    size, order = len(data), []
    upward = True
    for col in range(size - 1, 0, -2):
        if col <= 6:
            col -= 1
        for row in (range(size - 1, -1, -1) if upward else range(size)):
            order += [(row, c) for c in (col, col - 1) if data[row, c]]
        upward = not upward
    rows, cols = (np.array(axis, dtype=np.intp) for axis in zip(*order))
    return _Layout(data, scored, np.stack(final), rows, cols)


def _penalties(symbols):
    """qrcode.util.lost_point for a stack of symbols (k×n×n booleans), computed with numpy."""
    import numpy as np

    k, n, _ = symbols.shape
    lines = np.concatenate([symbols, symbols.transpose(0, 2, 1)], axis=1)  # rows, then columns
    # 1. Runs of five or more modules of one colour: length - 2 each.
    edges = np.ones((k, 2 * n, n + 1), dtype=bool)
    edges[:, :, 1:n] = lines[:, :, 1:] != lines[:, :, :-1]
    starts = np.flatnonzero(edges)
    runs = np.diff(starts)  # the step from one line's end to the next line's start is a run of 1
    long_runs = runs >= 5
    points = np.bincount(starts[:-1][long_runs] // (2 * n * (n + 1)), weights=runs[long_runs] - 2, minlength=k)
    # 2. Blocks of 2×2 modules of one colour: 3 each.
    top_left = symbols[:, :-1, :-1]
    blocks = (top_left == symbols[:, :-1, 1:]) & (top_left == symbols[:, 1:, :-1]) & (top_left == symbols[:, 1:, 1:])
    points += 3 * blocks.sum(axis=(1, 2))
    # 3. 1:1:3:1:1 finder-like patterns with four light modules on one side: 40 each. Each window of 11
    # modules is read as an 11-bit number and compared with the pattern both ways round.
    width = n - len(_FINDER_LIKE) + 1
    value = np.zeros((k, 2 * n, width), dtype=np.int32)
    for offset in range(len(_FINDER_LIKE)):
        value = (value << 1) | lines[:, :, offset:offset + width]
    points += 40 * ((value == _FINDER_BITS) | (value == _FINDER_BITS_REVERSED)).sum(axis=(1, 2))
    # 4. Dark share away from 50 %: 10 per 5 %.
    for index, dark in enumerate(symbols.sum(axis=(1, 2)).tolist()):
        points[index] += int(abs(float(dark) / (n ** 2) * 100 - 50) / 5) * 10
    return points


_FINDER_LIKE = (1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0)
_FINDER_BITS = int("".join(map(str, _FINDER_LIKE)), 2)
_FINDER_BITS_REVERSED = int("".join(map(str, reversed(_FINDER_LIKE))), 2)


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR code's modules (level M, no quiet zone), the same symbol qrcode's `make()` builds.

    qrcode picks the version and encodes the data (with its Reed–Solomon code); everything else is
    numpy over a layout worked out once per version (`_layout`): the bits are placed in one step, and
    the eight masked candidates are scored together (qrcode builds and scores each in pure Python,
    about 10 ms), with the same scores and the same choice.
    """
    import numpy as np

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(url)
    qr.best_fit()
    layout = _layout(qr.version)
    codewords = np.array(qrcode.util.create_data(qr.version, qr.error_correction, qr.data_list), dtype=np.uint8)
    bits = np.unpackbits(codewords)[:len(layout.rows)].astype(bool)  # remainder modules stay light
    unmasked = layout.scored.copy()
    unmasked[layout.rows[:len(bits)], layout.cols[:len(bits)]] = bits
    candidates = unmasked ^ (layout.data & _masks(len(unmasked)))
    best = int(np.argmin(_penalties(candidates)))  # argmin: the first best, as qrcode
    return (layout.final[best] | (candidates[best] & layout.data)).tolist()


def qr_strokes(modules) -> list[str]:
    """SVG path commands drawing the dark modules as horizontal strokes, one per run of dark modules.

    A stroke of width 1 along the middle of a row (`M x y.5 h length`) paints exactly the run's
    modules. `trainapp.pdfdoc` draws paths made only of such strokes without WeasyPrint's general
    path parser (see `_install_stroke_paths`).
    """
    import numpy as np

    dark = np.asarray(modules, dtype=np.int8)
    edges = np.zeros((dark.shape[0], dark.shape[1] + 2), dtype=np.int8)
    edges[:, 1:-1] = dark
    steps = np.diff(edges, axis=1)  # +1 where a run starts, -1 just after it ends (row by row, in order)
    rows, starts = np.nonzero(steps == 1)
    _rows, ends = np.nonzero(steps == -1)
    return [f"M{x} {y}.5h{n}" for x, y, n in zip(starts.tolist(), rows.tolist(), (ends - starts).tolist())]


def qr_svg(url: str) -> bytes:
    """The QR code for `url` as SVG: one stroked path of horizontal lines (see `qr_strokes`).

    Vector, so it prints sharp at any size.
    """
    modules = qr_matrix(url)
    size = len(modules)
    quiet = 2
    box = size + 2 * quiet
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-{quiet} -{quiet} {box} {box}" '
            f'width="{box * 4}" height="{box * 4}" shape-rendering="crispEdges">'
            f'<rect x="-{quiet}" y="-{quiet}" width="{box}" height="{box}" fill="#fff"/>'
            f'<path fill="none" stroke="#000" stroke-width="1" d="{"".join(qr_strokes(modules))}"/></svg>').encode()


def data_uri(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


# --- seal ----------------------------------------------------------------------------------------

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


# --- pages ----------------------------------------------------------------------------------------

@dataclass
class Page:
    """What one certificate page shows (also used for template previews with sample data)."""
    cert: Certificate
    qr: str
    seal: str
    verify_url: str


def page_for(cert: Certificate, seals: dict | None = None) -> Page:
    """The page for `cert`; `seals` (district id → data URI) spares a batch looking each seal up again."""
    from trainapp.certificates.service import verify_url

    url = verify_url(cert)
    if seals is None:
        seal = seal_uri(cert.district_id)
    else:
        seal = seals.get(cert.district_id)
        if seal is None:
            seal = seals[cert.district_id] = seal_uri(cert.district_id)
    return Page(cert, data_uri(qr_svg(url), "image/svg+xml"), seal, url)


# --- rendering ------------------------------------------------------------------------------------

def stylesheet() -> str:
    """The certificates' stylesheet (the `stylesheet` macro of document.html, with both layouts)."""
    template = current_app.jinja_env.get_template("certificates/document.html")
    return str(template.make_module({"pages": []}).stylesheet())


def document_html(pages: list[Page]) -> str:
    return render_template("certificates/document.html", pages=pages)


def render_pages(pages: list[Page], layout: str | None = None) -> bytes:
    """One PDF with a page per certificate, each in its certificate's template layout (`layout` is unused)."""
    return html_to_pdf(document_html(pages), css=stylesheet(), zlib_level=ZLIB_LEVEL, single_pass_subset=True,
                       stroke_paths=True)


def render(cert: Certificate) -> bytes:
    return render_pages([page_for(cert)])


def stored_pdf(cert: Certificate) -> bytes:
    """The certificate's PDF: rendered on first request, then stored and served as is."""
    if cert.pdf is None:
        cert.pdf = render(cert)
        db.session.commit()
    return cert.pdf
