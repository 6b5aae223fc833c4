"""Word (.docx) and plain-text banks in the usual Chinese exam-paper layout.

    一、单项选择题（每题 2 分）
    1. 题干……（ ）
    A. 选项一    B. 选项二
    C. 选项三    D. 选项四
    答案：B
    解析：……

Section headings set the type; numbered lines start questions; "A." lines carry options (several
may share a line); 答案/解析/出处/难度/标签 lines fill the fields. Without an answer line, an
answer written in the stem's brackets, e.g. "（B）", is used.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import docx
from docx.shared import Pt
from docx.table import Table
from flask_babel import gettext as _

from trainapp.questionbank.qtypes import LETTERS, REGISTRY, type_from_label

from .common import (
    DIFFICULTY_LABELS,
    FILE_REF,
    Collector,
    ParsedQuestion,
    ParseResult,
    clean_text,
    export_text,
    file_problem,
    parse_difficulty,
    letter_of,
    split_inline_options,
    split_tags,
)
from .safety import Rejected, decode_text, open_zip
from .tabular import TYPE_LABELS, _infer_type, _is_unsupported_label, _truefalse_pair, answer_label

_NUMERALS = "一二三四五六七八九十"
_HEADING = re.compile(r"^\s*(?:第?[一二三四五六七八九十]{1,3}\s*(?:部分|大题)?\s*[、.．:：\s]|[(（][一二三四五六七八九十]{1,3}[)）])\s*(.+)$")
_BARE_HEADING = re.compile(r"^[【\[]?\s*([^\s()（）【】\[\]]{1,10}题)\s*[】\]]?\s*(?:[(（][^)）]*[)）])?\s*[:：]?$")
_STEM = re.compile(r"^\s*(?:(\d{1,4})\s*[.．、)）](?!\d)|[(（]\s*(\d{1,4})\s*[)）]|第\s*(\d{1,4})\s*题[.．、:：]?)\s*(.*)$")
_OPTION_START = re.compile(r"^\s*[(（]?\s*([A-Ha-hＡ-Ｈａ-ｈ])\s*(?:[)）]\s*[.．、:：]?|[.．、:：])")


def _field(words: str) -> re.Pattern:
    return re.compile(r"^\s*(?:[【\[]\s*(?:" + words + r")\s*[】\]]|(?:" + words + r")\s*[:：])\s*(.*)$")


_FIELDS = (
    ("answer", _field("正确答案|参考答案|标准答案|答案")),
    ("explanation", _field("答案解析|试题解析|题目解析|解析")),
    ("source", _field("出处|来源|依据|法规依据")),
    ("difficulty", _field("难度|难易度")),
    ("tags", _field("标签|知识点")),
)
_INLINE_ANSWER = re.compile(r"\s*(?:【答案】|\[答案\]|(?:正确答案|参考答案|答案)\s*[:：])\s*")
_INLINE_EXPLANATION = re.compile(r"\s*(?:【解析】|\[解析\]|解析\s*[:：])\s*")
_STEM_ANSWER = re.compile(r"[(（]\s*([A-Ha-hＡ-Ｈ]{1,8}|√|×|✓|✗|对|错|正确|错误)\s*[)）]")


def _section_type(line: str) -> str | None:
    """"single"/"multiple"/"truefalse", "!填空题" for unsupported sections, or None."""
    match = _HEADING.match(line)
    label = match.group(1) if match else None
    if label is None:
        bare = _BARE_HEADING.match(line.strip())
        label = bare.group(1) if bare else None
    if not label or len(label) > 40:
        return None
    head = re.split(r"[(（:：\s]", label.strip(), maxsplit=1)[0]
    code = type_from_label(head)
    if code:
        return code
    return "!" + head if _is_unsupported_label(head) else None


@dataclass
class _Draft:
    number: str
    ref: str
    qtype: str | None
    stem: list[str]
    options: list[str] = field(default_factory=list)
    answer: str | None = None
    explanation: list[str] = field(default_factory=list)
    source: str = ""
    difficulty: str = ""
    tags: str = ""
    last: str = "stem"


class _LayoutParser:
    def __init__(self, ref_template: str) -> None:
        self.ref_template = ref_template  # "第 %(n)s 题（第 %(p)d 段）", or 行 for text files
        self.out = Collector()
        self.section: str | None = None
        self.draft: _Draft | None = None

    def feed(self, number: int, line: str) -> None:
        line = clean_text(line)
        if not line:
            return
        section = _section_type(line) if not _STEM.match(line) or _HEADING.match(line) else None
        if section:
            self.flush()
            self.section = section
            return
        stem = _STEM.match(line)
        if stem:
            self.flush()
            qnum = next(g for g in stem.groups()[:3] if g)
            ref = self.ref_template % {"n": qnum, "p": number}
            body = stem.group(4)
            inline = _INLINE_ANSWER.search(body)
            self.draft = _Draft(qnum, ref, self.section, [body[: inline.start()] if inline else body])
            if inline:  # "3. 题干 答案：× 解析：…" on one line
                self._set_field(self.draft, "answer", body[inline.end():])
            return
        draft = self.draft
        if draft is None:
            return  # titles and notes before the first question
        for name, pattern in _FIELDS:
            match = pattern.match(line)
            if match:
                self._set_field(draft, name, match.group(1))
                return
        option = _OPTION_START.match(line)
        if option and letter_of(option) == LETTERS[min(len(draft.options), len(LETTERS) - 1)]:
            parts = split_inline_options(line) or [line[option.end():].strip()]
            draft.options.extend(parts)
            draft.last = "option"
        elif draft.last == "stem":
            draft.stem.append(line)
        elif draft.last == "option":
            draft.options[-1] += "\n" + line
        elif draft.last == "explanation":
            draft.explanation.append(line)

    def _set_field(self, draft: _Draft, name: str, value: str) -> None:
        if name == "answer":
            parts = _INLINE_EXPLANATION.split(value, maxsplit=1)
            draft.answer = parts[0].strip()
            draft.last = "answer"
            if len(parts) > 1:
                draft.explanation.append(parts[1])
                draft.last = "explanation"
        elif name == "explanation":
            draft.explanation.append(value)
            draft.last = "explanation"
        else:
            setattr(draft, name, value.strip())
            draft.last = name

    def flush(self) -> None:
        draft, self.draft = self.draft, None
        if draft is None:
            return
        out = self.out
        if draft.qtype and draft.qtype.startswith("!"):
            out.unsupported(draft.ref, draft.qtype[1:])
            return
        stem = "\n".join(draft.stem).strip()
        answer = draft.answer
        if answer is None:
            found = list(_STEM_ANSWER.finditer(stem))
            if found:
                last = found[-1]
                answer = last.group(1)
                stem = stem[: last.start()] + "（ ）" + stem[last.end():]
        options = [o.strip() for o in draft.options]
        qtype = draft.qtype or _infer_type(options, answer or "")
        if qtype is None:
            out.problem(draft.ref, _("无法判断题型：请在题目前加上“一、单选题”之类的标题"))
            return
        if qtype == "truefalse" and (pair := _truefalse_pair(options)):
            letter = REGISTRY["single"].normalise_answer(answer or "", 2)
            answer = pair["AB".index(letter)] if letter in ("A", "B") else answer
            options = []
        difficulty, warning = parse_difficulty(draft.difficulty)
        if warning:
            out.warn(draft.ref, warning)
        out.add(ParsedQuestion(
            qtype=qtype,
            stem=stem,
            options=options,
            answer=REGISTRY[qtype].normalise_answer(answer or "", len(options)),
            explanation="\n".join(draft.explanation).strip(),
            source=draft.source,
            difficulty=difficulty,
            tags=split_tags(draft.tags),
            ref=draft.ref,
        ))

    def result(self) -> ParseResult:
        self.flush()
        if not self.out.questions and not self.out.problems:
            self.out.problem(FILE_REF, _("没有找到题目：题目应以“1.”之类的题号开头，并带有“答案：”行"))
        return self.out.result()


def _paragraphs(document) -> list[str]:
    """Body paragraphs in order, including those inside tables (merged cells once)."""
    texts: list[str] = []
    seen: set[int] = set()

    def walk(container) -> None:
        for item in container.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    for cell in row.cells:
                        if id(cell._tc) not in seen:
                            seen.add(id(cell._tc))
                            walk(cell)
            else:
                texts.append(item.text)

    walk(document)
    return texts


def parse_docx(data: bytes) -> ParseResult:
    try:
        open_zip(data, lambda name: False)
        document = docx.Document(io.BytesIO(data))
        paragraphs = _paragraphs(document)
    except Rejected as exc:
        return file_problem(str(exc))
    except Exception:  # python-docx raises many kinds of error on malformed packages
        return file_problem(_("Word 文件已损坏或格式不受支持，请用 Word 重新保存为 .docx 后再上传"))
    parser = _LayoutParser(_("第 %(n)s 题（第 %(p)d 段）"))
    for number, text in enumerate(paragraphs, start=1):
        for line in text.split("\n"):
            parser.feed(number, line)
    return parser.result()


def parse_text_layout(data: bytes) -> ParseResult:
    """Plain text in the same layout as the Word files."""
    try:
        text = decode_text(data)
    except Rejected as exc:
        return file_problem(str(exc))
    parser = _LayoutParser(_("第 %(n)s 题（第 %(p)d 行）"))
    for number, line in enumerate(text.splitlines(), start=1):
        parser.feed(number, line)
    return parser.result()


def looks_like_layout(text: str) -> bool:
    """Heuristic for auto-detection: numbered stems plus 答案 lines."""
    lines = text.splitlines()[:2000]
    answers = sum(1 for line in lines if _FIELDS[0][1].match(line))
    stems = sum(1 for line in lines if _STEM.match(line))
    return answers >= 1 and stems >= 1


# --- export -------------------------------------------------------------------

_ORDER = ("single", "multiple", "truefalse")


def export_docx(questions: list[ParsedQuestion], bank: dict | None = None) -> bytes:
    """One section per type (单选、多选、判断), numbered from 1 in each."""
    document = docx.Document()
    style = document.styles["Normal"]
    style.font.size = Pt(11)
    if bank and bank.get("name"):
        document.add_heading(export_text(str(bank["name"])), level=1)
    groups = [(code, [q for q in questions if q.qtype == code]) for code in _ORDER]
    groups += [(None, [q for q in questions if q.qtype not in _ORDER])]
    section = 0
    for code, items in groups:
        if not items:
            continue
        label = TYPE_LABELS.get(code, "其他题型")
        document.add_heading(f"{_NUMERALS[section]}、{label}", level=2)
        section += 1
        for number, q in enumerate(items, start=1):
            _lines(document, f"{number}. {q.stem}")
            for letter, option in zip(LETTERS, q.options):
                _lines(document, f"{letter}. {option}")
            _lines(document, "答案：" + answer_label(q))
            if q.explanation:
                _lines(document, "解析：" + q.explanation)
            if q.source:
                _lines(document, "出处：" + q.source)
            if q.difficulty in DIFFICULTY_LABELS:
                _lines(document, "难度：" + DIFFICULTY_LABELS[q.difficulty])
            if q.tags:
                _lines(document, "标签：" + "、".join(q.tags))
            document.add_paragraph()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _lines(document, text: str) -> None:
    """One paragraph; embedded newlines become line breaks."""
    lines = export_text(text).split("\n")
    paragraph = document.add_paragraph()
    run = paragraph.add_run(lines[0])
    for line in lines[1:]:
        run.add_break()
        run = paragraph.add_run(line)
