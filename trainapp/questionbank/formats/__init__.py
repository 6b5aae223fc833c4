"""Read and write question-bank files.

``parse(data, filename)`` never raises for bad input: problems with the whole file come back as
a Problem with ref "文件", problems with single questions name their row, question or line.
"""

from __future__ import annotations

import codecs
import logging
import re

from flask_babel import gettext as _

from .aiken import export_aiken, looks_like_aiken, parse_aiken
from .common import ParsedQuestion, ParseResult, Problem, file_problem
from .docx import export_docx, looks_like_layout, parse_docx, parse_text_layout
from .gift import export_gift, parse_gift
from .jsonfmt import FORMAT_ID, export_json, looks_like_json, parse_json
from .moodlexml import export_moodlexml, parse_moodlexml
from .safety import Rejected, zip_names
from .tabular import export_csv, find_header, parse_csv, template_csv
from .xlsx import export_xlsx, parse_xlsx, template_xlsx

__all__ = [
    "EXPORT_FORMATS", "FILE_EXTENSIONS", "FORMATS", "FORMAT_ID", "MAX_BYTES", "MEDIA_TYPES", "ParseResult",
    "ParsedQuestion", "Problem", "detect_format", "export", "parse", "template_csv", "template_xlsx",
]

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
# "txt" is the Word layout (一、单选题 / 1. … / A. … / 答案：B) saved as plain text.
FORMATS = ("xlsx", "csv", "docx", "txt", "gift", "aiken", "moodlexml", "json")
EXPORT_FORMATS = ("json", "xlsx", "csv", "gift", "aiken", "moodlexml", "docx")
FILE_EXTENSIONS = {"json": ".json", "xlsx": ".xlsx", "csv": ".csv", "gift": ".gift.txt", "aiken": ".aiken.txt",
                   "moodlexml": ".xml", "docx": ".docx", "txt": ".txt"}
MEDIA_TYPES = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "gift": "text/plain; charset=utf-8",
    "aiken": "text/plain; charset=utf-8",
    "moodlexml": "application/xml",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain; charset=utf-8",
}
INTERNAL_ERROR = "内部错误"

_PARSERS = {
    "xlsx": parse_xlsx, "csv": parse_csv, "docx": parse_docx, "txt": parse_text_layout, "gift": parse_gift,
    "aiken": parse_aiken, "moodlexml": parse_moodlexml, "json": parse_json,
}
_EXTENSION_HINTS = {
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".tsv": "csv", ".docx": "docx", ".gift": "gift",
    ".xml": "moodlexml", ".json": "json", ".aiken": "aiken",
}
_OFFICE_EXTENSIONS = {".xlsx": "Excel", ".xlsm": "Excel", ".xls": "Excel", ".docx": "Word", ".doc": "Word"}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_GIFT_MARKERS = re.compile(
    r"^\s*::.+?::|^\s*\$CATEGORY:|\{\s*(?:T|F|TRUE|FALSE)\s*(?:#[^}]*)?\}|\{[^{}]*?(?:^|\s|\{)[=~][^{}]*\}",
    re.MULTILINE | re.IGNORECASE,
)


def _extension(filename: str) -> str:
    name = (filename or "").lower().strip()
    for compound, hint in ((".gift.txt", ".gift"), (".aiken.txt", ".aiken")):
        if name.endswith(compound):
            return hint
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def _zip_kind(data: bytes) -> str:
    names = set(zip_names(data))
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    if "mimetype" in names or "content.xml" in names:
        raise Rejected(_("暂不支持 WPS/OpenOffice 的 ODS/ODT 格式，请另存为 .xlsx 或 .docx 后再上传"))
    raise Rejected(_("这是一个压缩包，但不是 Excel（.xlsx）或 Word（.docx）文件"))


def _sniff_text(head: str, extension: str) -> str:
    stripped = head.lstrip("\ufeff \t\r\n")
    if looks_like_json(stripped) and not re.match(r"\[(html|moodle|plain|markdown)\]", stripped, re.IGNORECASE):
        return "json"
    if stripped.startswith("<"):
        if re.search(r"<quiz[\s>]", stripped[:4096]):
            return "moodlexml"
        if stripped.startswith("<?xml") or extension in (".xml", ".html", ".htm"):
            raise Rejected(_("不支持的 XML/HTML 文件：Moodle XML 题库的根元素应为 <quiz>"))
    lines = [line for line in stripped.splitlines()[:10]]
    if any(find_header([re.split(r"[,\t;，]", line)]) for line in lines):
        return "csv"
    if _GIFT_MARKERS.search(stripped):
        return "gift"
    if looks_like_aiken(stripped):
        return "aiken"
    if looks_like_layout(stripped):
        return "txt"
    return _EXTENSION_HINTS.get(extension, "csv")


def detect_format(data: bytes, filename: str = "") -> str:
    """Name the format of ``data`` from its content (the extension is only a hint).

    Raises Rejected with a user-facing message when the content cannot be a question bank.
    """
    extension = _extension(filename)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = _zip_kind(data)
        expected, actual = _OFFICE_EXTENSIONS.get(extension), {"xlsx": "Excel", "docx": "Word"}[kind]
        if expected and expected != actual:
            raise Rejected(_("文件扩展名是 %(ext)s，但内容是 %(kind)s 文件，请检查后重新上传", ext=extension, kind=actual))
        return kind
    if data.startswith(_OLE2):
        raise Rejected(_("这是旧版 Office 文件（.xls/.doc）或加了密码的文件：请用 Excel/Word 另存为 .xlsx/.docx（不设密码）后再上传"))
    if extension in _OFFICE_EXTENSIONS:
        raise Rejected(_("文件扩展名是 %(ext)s，但内容不是 %(kind)s 文件（可能只是改了扩展名），请用 %(kind)s 另存后再上传",
                         ext=extension, kind=_OFFICE_EXTENSIONS[extension]))
    return _sniff_text(_head_text(data[:65536]), extension)


def _head_text(head: bytes) -> str:
    """Decode the start of a file for sniffing; a character cut at the end is not an error."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
    return head.decode("utf-8", errors="replace")


def parse(data: bytes, filename: str = "", fmt: str = "auto") -> ParseResult:
    """Parse an uploaded bank; never raises for bad input (see the module docstring)."""
    try:
        return _parse(bytes(data or b""), filename or "", fmt or "auto")
    except Exception:  # defence in depth: a parser bug must not turn an upload into a 500
        log.exception("question bank parser failed on %r (%s)", filename, fmt)
        return file_problem(_("文件无法读取（%(what)s），请检查文件格式或联系管理员", what=INTERNAL_ERROR))


def _parse(data: bytes, filename: str, fmt: str) -> ParseResult:
    if fmt != "auto" and fmt not in _PARSERS:
        return file_problem(_("不支持的格式：%(fmt)s", fmt=fmt))
    if len(data) > MAX_BYTES:
        return file_problem(_("文件超过 %(mb)d MB，请拆分后再上传", mb=MAX_BYTES // (1024 * 1024)))
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        return file_problem(_("文件是空的"))
    try:
        detected = detect_format(data, filename)
    except Rejected as exc:
        if fmt in ("auto", "xlsx", "docx"):
            return file_problem(str(exc))
        detected = None
    if fmt == "auto":
        fmt = detected
    elif fmt in ("xlsx", "docx") and detected != fmt:
        return file_problem(_("所选格式为 %(fmt)s，但文件内容不是 %(fmt)s 文件", fmt=fmt))
    elif fmt not in ("xlsx", "docx") and detected in ("xlsx", "docx"):
        return file_problem(_("所选格式为 %(fmt)s，但上传的是 %(kind)s 文件", fmt=fmt, kind=detected))
    return _PARSERS[fmt](data)


def export(questions: list[ParsedQuestion], fmt: str, bank: dict | None = None) -> bytes:
    """Write questions in one of EXPORT_FORMATS; raises ValueError for an unknown format."""
    if fmt == "json":
        return export_json(questions, bank)
    if fmt == "docx":
        return export_docx(questions, bank)
    writers = {"xlsx": export_xlsx, "csv": export_csv, "gift": export_gift, "aiken": export_aiken,
               "moodlexml": export_moodlexml}
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    return writers[fmt](questions)
