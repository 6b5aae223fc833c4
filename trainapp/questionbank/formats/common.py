"""Plain data types and text helpers shared by every question-bank format."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

from flask_babel import gettext as _

from trainapp.questionbank.qtypes import LETTERS, REGISTRY

FILE_REF = "文件"
MAX_PROBLEMS = 1000


@dataclass
class ParsedQuestion:
    qtype: str
    stem: str
    options: list[str]
    answer: str
    explanation: str = ""
    source: str = ""
    difficulty: int | None = None
    tags: list[str] = field(default_factory=list)
    ref: str = ""
    category: str = ""


@dataclass
class Problem:
    ref: str
    message: str
    kind: str = "error"  # "error" | "unsupported" | "warning"


@dataclass
class ParseResult:
    questions: list[ParsedQuestion]
    problems: list[Problem]
    bank: dict | None = None

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import (warnings are allowed)."""
        return not any(p.kind in ("error", "unsupported") for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "warning"]

    @property
    def unsupported(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "unsupported"]


def file_problem(message: str) -> ParseResult:
    """A result for a file that could not be read at all."""
    return ParseResult([], [Problem(FILE_REF, message)])


# --- text -----------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\u3000\xa0]+\n")


_NEEDS_CLEANING = re.compile(r"[\r\xa0\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]|[ \t\u3000]\n")


def clean_text(value: object) -> str:
    """Normalise a cell or paragraph: str, no control chars, \\n newlines, trimmed."""
    if value is None:
        return ""
    if type(value) is str and (value.isprintable() or not _NEEDS_CLEANING.search(value)):
        return value.strip()  # isprintable() is a quick C-level proof that nothing needs fixing
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = _CONTROL.sub("", text)
    return _TRAILING_SPACE.sub("\n", text).strip()


def export_text(text: str) -> str:
    """Text safe to put into XML-based files (xlsx, docx, Moodle XML)."""
    return _CONTROL.sub("", text or "")


def fold(text: str) -> str:
    """Width- and case-folded text for lenient matching."""
    return unicodedata.normalize("NFKC", text or "").lower()


_FULL_WIDTH = re.compile("[\uff01-\uff5e]")  # full-width ASCII: ，（）Ａ１…


def stem_key(stem: str) -> str:
    """Key used to spot duplicate stems: ignore spacing, full/half width and case.

    Not NFKC: this runs once per question, and NFKC costs more than the rest of the row.
    """
    narrow = _FULL_WIDTH.sub(lambda m: chr(ord(m.group()) - 0xFEE0), "".join(stem.split()))
    return narrow.lower()


class _HTMLText(HTMLParser):
    _BLOCK = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.images = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self.skipping += 1
        elif tag == "br" or tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "img":
            self.images += 1
            self.parts.append("[图片]")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, int]:
    """Render HTML as plain text (block tags and <br> become newlines); also count <img>.

    Scripts and styles are dropped, entities decoded, runs of spaces collapsed. Nothing is
    executed or fetched: this is a tokenizer, not a browser.
    """
    parser = _HTMLText()
    try:
        parser.feed(markup or "")
        parser.close()
    except Exception:  # HTMLParser is lenient, but never let markup break an import
        return clean_text(html.unescape(re.sub(r"<[^>]*>", " ", markup or ""))), 0
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\u3000]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return clean_text(re.sub(r"\n{3,}", "\n\n", text)), parser.images


# --- fields ---------------------------------------------------------------

_DIFFICULTY = {
    "1": 1, "易": 1, "简单": 1, "容易": 1, "较易": 1, "低": 1, "easy": 1,
    "2": 2, "中": 2, "中等": 2, "一般": 2, "适中": 2, "普通": 2, "medium": 2, "normal": 2,
    "3": 3, "难": 3, "困难": 3, "较难": 3, "高": 3, "hard": 3, "difficult": 3,
}
DIFFICULTY_LABELS = {1: "易", 2: "中", 3: "难"}


def parse_difficulty(raw: str) -> tuple[int | None, str | None]:
    """Return (difficulty, warning) for 1/2/3, 易/中/难, 简单/一般/困难 …; blank is (None, None)."""
    text = fold(clean_text(raw)).strip(" 。.")
    if not text:
        return None, None
    if text.endswith(".0"):
        text = text[:-2]
    value = _DIFFICULTY.get(text)
    if value is None:
        return None, _("无法识别的难度“%(value)s”（应为 1/2/3 或 易/中/难），已忽略", value=raw)
    return value, None


_TAG_SPLIT = re.compile(r"[,，;；、\s]+")


def split_tags(raw: str) -> list[str]:
    """Split tags on , ， ; ； 、 and whitespace, keeping order and dropping duplicates."""
    seen: dict[str, None] = {}
    for tag in _TAG_SPLIT.split(clean_text(raw)):
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


# Letter markers such as "A." "A、" "A．" "A:" "A)" "(A)" "（A）".
_MARK = r"[(（]?\s*([A-Ha-hＡ-Ｈａ-ｈ])\s*(?:[)）]\s*[.．、:：]?|[.．、:：])"
_LEADING_MARK = re.compile(r"^\s*" + _MARK + r"\s*")
_INLINE_MARK = re.compile(r"(?:^|(?<=[\s;；]))" + _MARK)
_BARE_LETTER = re.compile(r"^\s*([A-Ha-hＡ-Ｈａ-ｈ])\s*")


def letter_of(match: re.Match) -> str:
    """The option letter a marker match captured, as plain upper-case ASCII."""
    return fold(match.group(1)).upper()


def strip_letters(parts: list[str]) -> list[str]:
    """Remove "A." style prefixes; bare letters ("A选项") only when all parts run A, B, C…"""
    marked = [_LEADING_MARK.match(p) for p in parts]
    if all(m is not None for m in marked):
        return [clean_text(p[m.end():]) for p, m in zip(parts, marked)]
    bare = [_BARE_LETTER.match(p) for p in parts]
    if len(parts) >= 2 and all(b and letter_of(b) == LETTERS[i] for i, b in enumerate(bare) if i < len(LETTERS)):
        return [clean_text(p[b.end():]) for p, b in zip(parts, bare)]
    return [clean_text(p) for p in parts]


def split_inline_options(line: str) -> list[str] | None:
    """Split "A.xx  B.yy  C.zz" into option texts when the markers run A, B, C… in order."""
    found = []
    expected = 0
    for match in _INLINE_MARK.finditer(line):
        if expected < len(LETTERS) and letter_of(match) == LETTERS[expected]:
            found.append(match)
            expected += 1
    if not found or found[0].start() > len(line) - len(line.lstrip()):
        return None
    bounds = [m.start() for m in found] + [len(line)]
    return [clean_text(line[found[i].end():bounds[i + 1]]) for i in range(len(found))]


def split_option_cell(cell: str) -> list[str]:
    """Split a one-cell option list on **, ##, |, line breaks, or inline "A.… B.…" markers."""
    text = clean_text(cell)
    if not text:
        return []
    for sep in ("**", "##", "|", "\n"):
        if sep in text:
            parts = [p for p in (s.strip() for s in text.split(sep)) if p]
            return strip_letters(parts)
    inline = split_inline_options(text)
    if inline and len(inline) >= 2:
        return inline
    return strip_letters([text])


# --- validation -----------------------------------------------------------


def check_question(q: ParsedQuestion) -> list[str]:
    """Errors that make a parsed question unusable (type-specific checks via the registry)."""
    errors: list[str] = []
    if not q.stem.strip():
        errors.append(_("缺少题干"))
    qtype = REGISTRY.get(q.qtype)
    if qtype is None:
        errors.append(_("无法识别的题型“%(type)s”", type=q.qtype))
        return errors
    errors.extend(qtype.validate(q.options, q.answer))
    if q.difficulty is not None and q.difficulty not in (1, 2, 3):
        errors.append(_("难度应为 1、2 或 3"))
    return errors


def option_warnings(q: ParsedQuestion) -> list[str]:
    """Non-blocking remarks: repeated option texts."""
    seen: dict[str, str] = {}
    warnings = []
    for letter, text in zip(LETTERS, q.options):
        key = " ".join(text.split())
        if key and key in seen:
            warnings.append(_("选项 %(a)s 与选项 %(b)s 内容相同", a=seen[key], b=letter))
        seen.setdefault(key, letter)
    return warnings


class Collector:
    """Accumulates questions and problems while a parser walks a file."""

    def __init__(self) -> None:
        self.questions: list[ParsedQuestion] = []
        self.problems: list[Problem] = []
        self._stems: dict[str, str] = {}
        self._dropped = 0
        self._dropped_blocking = False

    def problem(self, ref: str, message: str, kind: str = "error") -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self._dropped += 1
            self._dropped_blocking |= kind != "warning"
            return
        self.problems.append(Problem(ref, str(message), kind))

    def warn(self, ref: str, message: str) -> None:
        self.problem(ref, message, "warning")

    def unsupported(self, ref: str, type_name: str) -> None:
        self.problem(ref, _("暂不支持的题型：%(type)s，已跳过", type=type_name), "unsupported")

    def add(self, q: ParsedQuestion) -> bool:
        """Validate and keep a question; invalid ones are reported and left out."""
        q.stem, q.explanation = clean_text(q.stem), clean_text(q.explanation)
        q.source, q.category = clean_text(q.source), clean_text(q.category)
        q.options = [clean_text(o) for o in q.options]
        errors = check_question(q)
        for message in errors:
            self.problem(q.ref, message)
        if errors:
            return False
        for message in option_warnings(q):
            self.warn(q.ref, message)
        key = stem_key(q.stem)
        if key in self._stems:
            self.warn(q.ref, _("题干与%(other)s重复", other=self._stems[key]))
        else:
            self._stems[key] = q.ref
        self.questions.append(q)
        return True

    def result(self, bank: dict | None = None) -> ParseResult:
        problems = list(self.problems)
        if self._dropped:
            kind = "error" if self._dropped_blocking else "warning"
            problems.append(Problem(FILE_REF, _("另有 %(n)d 个问题未列出", n=self._dropped), kind))
        return ParseResult(self.questions, problems, bank)
