"""One way to turn our HTML into a PDF with WeasyPrint: offline, and without growing memory.

- Nothing is fetched from outside the document: the URL fetcher accepts data: URIs only, which is how
  QR codes, seals and charts are embedded.
- WeasyPrint builds a new font configuration (a fontconfig and Pango font map) for every document
  unless it is given one, and those are not given back: a process rendering certificates grew by
  about 2 MB per PDF (900 MB after 400) and stays flat at about 125 MB with one shared
  configuration, which is also about 10 % faster. Pango's font maps are not meant to be shared
  between threads, so each thread (request threads, the background renderer) keeps its own.
- A stylesheet given separately (`css=`) is parsed once per thread and reused: for a one-page
  certificate, parsing its stylesheet again took about a tenth of the render.
- `single_pass_subset` subsets TrueType fonts in one HarfBuzz pass instead of WeasyPrint's two (see
  `_install_single_pass_subset`): for a certificate about 15 ms less, and a smaller font.
- `stroke_paths` draws SVG paths made only of unit strokes (`M x y h n` / `M x y v n`, as the QR codes
  of `trainapp.certificates.pdf` are) without WeasyPrint's general path parser, which reads each
  number in Python: about 9 ms of a certificate page's 24 went to parsing its QR code.
- `zlib_level` recompresses the PDF's streams at a lower level than pydyf's fixed level 9: the
  subset CJK font stream (about 360 kB before compression, mostly empty glyph slots kept so that glyph
  numbers stay valid) took 15 ms at level 9 and 1–2 ms at level 1, for a PDF about 5 % larger.
"""
from __future__ import annotations

import re
import threading
import zlib

_local = threading.local()
MAX_STYLESHEETS = 16  # distinct stylesheet texts kept per thread


def font_config():
    """This thread's WeasyPrint font configuration, created on first use."""
    from weasyprint.text.fonts import FontConfiguration

    fc = getattr(_local, "font_config", None)
    if fc is None:
        fc = _local.font_config = FontConfiguration()
    return fc


def _url_fetcher():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)


def stylesheet(css: str):
    """`css` parsed into a WeasyPrint stylesheet, once per thread and text."""
    from weasyprint import CSS

    cache = getattr(_local, "stylesheets", None)
    if cache is None:
        cache = _local.stylesheets = {}
    sheet = cache.get(css)
    if sheet is None:
        if len(cache) >= MAX_STYLESHEETS:
            cache.clear()
        sheet = cache[css] = CSS(string=css, url_fetcher=_url_fetcher(), font_config=font_config())
    return sheet


def _recompress(level: int):
    """A WeasyPrint finisher compressing the streams itself at `level` instead of pydyf's level 9."""
    import pydyf

    def finish(_document, pdf) -> None:
        for obj in pdf.objects:
            if not isinstance(obj, pydyf.Stream) or not obj.compress:
                continue
            raw = b"\n".join(item if isinstance(item, bytes) else pydyf._to_bytes(item) for item in obj.stream)
            obj.stream = [zlib.compress(raw, level)]
            obj.extra["Filter"] = "/FlateDecode"
            obj.compress = False

    return finish


# Tables a PDF viewer never reads from an embedded TrueType font (layout, vertical metrics, hinting
# and editor data); WeasyPrint already drops the layout ones.
_DROP_TABLES = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"FFTM", b"GDEF", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
                b"PCLT", b"SVG ", b"gasp", b"vhea", b"vmtx")
_subset_lock = threading.Lock()


def _install_single_pass_subset() -> bool:
    """Let WeasyPrint subset TrueType fonts in one HarfBuzz pass when a render asks for it.

    WeasyPrint (70) subsets each font twice: once keeping the used glyphs at their numbers, then
    again keeping every glyph up to the highest used number, to drop the empty slots after it. With
    WenQuanYi Micro Hei (49,531 glyphs; common characters sit around glyph 34,000) the second pass
    handles 34,000 glyphs and took 6–20 ms of each certificate. One pass, also dropping the tables
    above, leaves some empty slots after the last used glyph (all-zero entries that compress to
    almost nothing) and gives a smaller font stream. CFF fonts (Noto CJK) keep WeasyPrint's two
    passes (one was not tried for them). Only renders that ask for it
    (`html_to_pdf(..., single_pass_subset=True)`) are affected, and anything unexpected falls back
    to WeasyPrint's own subsetting.
    """
    with _subset_lock:
        try:
            from weasyprint.pdf import fonts
            from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset
            from weasyprint.text.fonts import get_hb_object_data
        except ImportError:
            return False
        original = getattr(fonts.Font, "_harfbuzz_subset", None)
        if original is None or harfbuzz_subset is None:
            return False
        if getattr(original, "single_pass", False):
            return True

        def subset(self, to_unicode, hinting):
            if not getattr(_local, "single_pass_subset", False) or hinting or "glyf" not in self.tables:
                return original(self, to_unicode, hinting)
            hb_input = ffi.gc(harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy)
            glyphs = sorted(to_unicode)
            harfbuzz.hb_set_add_sorted_array(harfbuzz_subset.hb_subset_input_glyph_set(hb_input),
                                             ffi.new(f"hb_codepoint_t[{len(glyphs)}]", glyphs), len(glyphs))
            flags = (harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS | harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING |
                     harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED |
                     harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE)
            if self.missing:
                flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
            harfbuzz_subset.hb_subset_input_set_flags(hb_input, flags)
            drop = sorted(harfbuzz.hb_tag_from_string(tag, -1) for tag in _DROP_TABLES)
            harfbuzz.hb_set_add_sorted_array(
                harfbuzz_subset.hb_subset_input_set(hb_input, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG),
                ffi.new(f"hb_codepoint_t[{len(drop)}]", drop), len(drop))
            face = harfbuzz_subset.hb_subset_or_fail(self.hb_face, hb_input)
            if face != ffi.NULL:
                face = ffi.gc(face, harfbuzz.hb_face_destroy)
                data = get_hb_object_data(face)
                if data:
                    self.file_content = data
                    return None
            return original(self, to_unicode, hinting)

        subset.single_pass = True
        fonts.Font._harfbuzz_subset = subset
        return True


# A path of strokes only: each "M x y" followed by one horizontal or vertical line of whole length,
# coordinates whole or halves, absolute, no separators besides the one space.
_STROKE_PATH = re.compile(r"(?:M\d+(?:\.5)? \d+(?:\.5)?[hv]\d+)+")
_STROKE = re.compile(r"M(\d+(?:\.5)?) (\d+(?:\.5)?)([hv])(\d+)")
_MARKERS = ("marker", "marker-start", "marker-mid", "marker-end")


def _stroke_operators(d: str) -> bytes:
    """PDF path operators for a `_STROKE_PATH`: a move and a line per stroke, in SVG user units."""
    ops = []
    for x, y, direction, length in _STROKE.findall(d):
        if direction == "h":
            end_x, end_y = f"{float(x) + int(length):g}", y
        else:
            end_x, end_y = x, f"{float(y) + int(length):g}"
        ops.append(f"{x} {y} m {end_x} {end_y} l")
    return " ".join(ops).encode()


def _install_stroke_paths() -> bool:
    """Let renders that ask for it (`html_to_pdf(..., stroke_paths=True)`) draw stroke-only SVG paths directly.

    WeasyPrint (70) draws an SVG `<path>` by rewriting its `d` string and parsing every number through
    its CSS length parser. For a path of `_STROKE_PATH` form the result is simply a move and a line
    per stroke, which is what this writes to the stream; the fill, stroke and transform around it are
    WeasyPrint's as before. Any other path, one with markers, or a WeasyPrint without this drawing
    table goes through WeasyPrint's own parser.
    """
    with _subset_lock:
        try:
            from weasyprint import svg as weasy_svg
        except ImportError:
            return False
        original = getattr(weasy_svg, "TAGS", {}).get("path")
        if original is None:
            return False
        if getattr(original, "stroke_paths", False):
            return True

        def path(svg, node, font_size):
            d = node.get("d", "")
            if (not getattr(_local, "stroke_paths", False) or not _STROKE_PATH.fullmatch(d)
                    or any(node.get(name) for name in _MARKERS)):
                return original(svg, node, font_size)
            svg.stream.stream.append(_stroke_operators(d))
            return None

        path.stroke_paths = True
        weasy_svg.TAGS["path"] = path
        return True


def html_to_pdf(html: str, css: str | None = None, zlib_level: int | None = None,
                single_pass_subset: bool = False, stroke_paths: bool = False) -> bytes:
    """Render an HTML string (CJK fonts embedded, text selectable) to PDF bytes.

    `css`: a stylesheet applied besides the document's own (parsed once per thread, see above);
    `zlib_level`: compression level for the PDF's streams (default: pydyf's 9);
    `single_pass_subset`: subset TrueType fonts in one pass (see `_install_single_pass_subset`);
    `stroke_paths`: draw stroke-only SVG paths directly (see `_install_stroke_paths`).
    """
    from weasyprint import HTML

    options = {}
    if css is not None:
        options["stylesheets"] = [stylesheet(css)]
    if zlib_level is not None:
        options["finisher"] = _recompress(zlib_level)
    single_pass_subset = single_pass_subset and _install_single_pass_subset()
    _local.single_pass_subset = single_pass_subset
    _local.stroke_paths = stroke_paths and _install_stroke_paths()
    try:
        return HTML(string=html, url_fetcher=_url_fetcher()).write_pdf(font_config=font_config(), **options)
    finally:
        _local.single_pass_subset = _local.stroke_paths = False


def html_to_pdf_in_worker(html: str, css: str | None, zlib_level: int | None) -> bytes:
    """`html_to_pdf` for a batch worker process (fonts subset in one pass, stroke paths drawn directly).

    The cyclic garbage collector is paused for the render: a 100-page document makes millions of
    objects and the collector kept walking them (10–15 % of the time), while what it would free is
    freed after the render anyway. Only for processes doing nothing else: the setting is per process.
    """
    import gc

    gc.disable()
    try:
        return html_to_pdf(html, css=css, zlib_level=zlib_level, single_pass_subset=True, stroke_paths=True)
    finally:
        gc.enable()
