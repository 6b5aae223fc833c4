"""Row-based banks (xlsx and csv): lenient header matching, row → question, rows for export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _

from trainapp.questionbank.qtypes import LETTERS, REGISTRY, type_from_label

from .common import (
    DIFFICULTY_LABELS,
    FILE_REF,
    Collector,
    ParsedQuestion,
    ParseResult,
    clean_text,
    fold,
    parse_difficulty,
    split_option_cell,
    split_tags,
)
from .safety import Rejected, decode_text

HEADER_SCAN_ROWS = 10
EXPORT_HEADERS = ["题型", "题干", *(f"选项{ch}" for ch in LETTERS), "答案", "解析", "难度", "标签", "出处"]

_WORDS = {
    "type": ("题型", "试题类型", "题目类型", "类型", "题类", "题型名称", "type", "qtype", "questiontype"),
    "stem": ("题干", "试题内容", "题目", "题目内容", "试题", "问题", "内容", "题干内容", "试题题干",
             "stem", "question", "questiontext"),
    "options": ("选项", "选项内容", "备选项", "备选答案", "所有选项", "options", "choices"),
    "answer": ("答案", "正确答案", "参考答案", "标准答案", "答案选项", "answer", "key", "correctanswer"),
    "explanation": ("解析", "答案解析", "试题解析", "题目解析", "解释", "讲解", "explanation", "analysis"),
    "difficulty": ("难度", "难易度", "难易程度", "难度等级", "difficulty", "level"),
    "tags": ("标签", "知识点", "关键词", "关键字", "tags", "tag", "keywords"),
    "source": ("出处", "来源", "依据", "法规依据", "出处依据", "试题来源", "source", "reference"),
    "category": ("分类", "类别", "章节", "题目分类", "category"),
    "ignore": ("序号", "题号", "编号", "分值", "分数", "id", "no", "score", "points"),
}
_HEADER_INDEX = {word: key for key, words in _WORDS.items() for word in words}
_OPTION_HEADER = re.compile(r"^(?:选项|答案|option|choice)?([a-h])(?:选项|项)?$")
_HEADER_NOISE = re.compile(r"[\s:：*＊#\"']+|[(（【\[].*?[)）】\]]")
_UNSUPPORTED_LABELS = ("填空", "简答", "问答", "论述", "案例", "计算", "名词解释", "连线", "匹配", "排序", "作文", "essay",
                       "matching", "numerical", "shortanswer", "cloze")
_QUOTED = ("=", "+", "-", "@", "'")


def header_field(text: object) -> str | None:
    """Map one header cell to a field key ("stem", "opt:B", …) or None."""
    key = _HEADER_NOISE.sub("", fold(clean_text(text)))
    if not key:
        return None
    option = _OPTION_HEADER.match(key)
    if option:
        return "opt:" + option.group(1).upper()
    return _HEADER_INDEX.get(key)


@dataclass
class Header:
    index: int
    columns: dict[str, int]
    unknown: list[str] = field(default_factory=list)

    @property
    def option_columns(self) -> list[tuple[str, int]]:
        return sorted((k[4:], c) for k, c in self.columns.items() if k.startswith("opt:"))


def find_header(rows: list[list]) -> Header | None:
    """Find the header among the first rows (title rows above it are allowed)."""
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        unknown = []
        for col, cell in enumerate(row):
            key = header_field(cell)
            if key and key not in columns:
                columns[key] = col
            elif key is None and clean_text(cell):
                unknown.append(clean_text(cell)[:30])
        if "stem" in columns and "answer" in columns:
            return Header(index, columns, unknown)
    return None


def missing_header_message(rows: list[list]) -> str:
    for row in rows[:HEADER_SCAN_ROWS]:
        keys = {header_field(c) for c in row}
        if "stem" in keys and "answer" not in keys:
            return _("表头缺少“答案”列（可下载模板对照）")
    return _("找不到表头：第一行应包含“题型、题干、选项A…选项H、答案”等列（可下载模板对照）")


def _is_unsupported_label(text: str) -> bool:
    folded = fold(text)
    return any(word in folded for word in _UNSUPPORTED_LABELS)


def _unquote(text: str) -> str:
    """Undo the quote write_csv adds in front of = + - @ and '."""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in _QUOTED else text


def _infer_type(options: list[str], answer: str) -> str | None:
    if not options and REGISTRY["truefalse"].normalise_answer(answer) in ("T", "F"):
        return "truefalse"
    letters = REGISTRY["single"].normalise_answer(answer, len(options))
    if letters.isascii() and letters.isalpha():
        return "single" if len(letters) == 1 else "multiple"
    return "single" if options else None


def _truefalse_pair(options: list[str]) -> list[str] | None:
    tf = REGISTRY["truefalse"]
    values = [tf.normalise_answer(o) for o in options]
    return values if len(values) == 2 and set(values) == {"T", "F"} else None


def convert_rows(
    rows: list[list],
    header: Header,
    out: Collector,
    ref: Callable[[int], str],
    check_row: Callable[[int, list[int]], list[str] | None] | None = None,
    unquote: bool = False,
) -> None:
    """Turn the rows under ``header`` into questions; ``ref(index)`` names a row for messages.

    ``check_row(index, used_columns)`` may veto a row: it returns the messages to report
    (possibly none) when the row must be skipped, or None to convert it.
    """
    cols = header.columns
    option_cols = [c for _letter, c in header.option_columns]
    used = [c for k, c in cols.items() if k != "ignore"]
    width = max(used) + 1
    for index in range(header.index + 1, len(rows)):
        if check_row and (messages := check_row(index, used)) is not None:
            for message in messages:
                out.problem(ref(index), message)
            continue
        row = rows[index]
        cleaned = [clean_text(v) for v in row[:width]] + [""] * (width - len(row))
        if unquote:
            cleaned = [_unquote(v) for v in cleaned]
        if not any(cleaned[c] for c in used):
            continue
        where = ref(index)

        def cell(key: str) -> str:
            return cleaned[cols[key]] if key in cols else ""

        raw_type = cell("type")
        code = type_from_label(raw_type) if raw_type else None
        if raw_type and code is None:
            if _is_unsupported_label(raw_type):
                out.unsupported(where, raw_type)
            else:
                out.problem(where, _("无法识别的题型“%(type)s”（应为单选题、多选题或判断题）", type=raw_type))
            continue
        options = [cleaned[c] for c in option_cols]
        if not any(options) and "options" in cols:
            options = split_option_cell(cell("options"))
        while options and not options[-1]:
            options.pop()
        answer = cell("answer")
        code = code or _infer_type(options, answer)
        if code is None:
            out.problem(where, _("无法判断题型：请填写“题型”列"))
            continue
        if code == "truefalse" and (pair := _truefalse_pair(options)):
            letter = REGISTRY["single"].normalise_answer(answer, 2)
            answer = pair["AB".index(letter)] if letter in ("A", "B") else answer
            options = []
        difficulty, warning = parse_difficulty(cell("difficulty"))
        if warning:
            out.warn(where, warning)
        out.add(ParsedQuestion(
            qtype=code,
            stem=cell("stem"),
            options=options,
            answer=REGISTRY[code].normalise_answer(answer, len(options)),
            explanation=cell("explanation"),
            source=cell("source"),
            difficulty=difficulty,
            tags=split_tags(cell("tags")),
            ref=where,
            category=cell("category"),
        ))


def warn_unknown_columns(header: Header, out: Collector, ref: str) -> None:
    if header.unknown:
        out.warn(ref, _("已忽略无法识别的列：%(names)s", names="、".join(header.unknown[:10])))


# --- export -------------------------------------------------------------------


# File content stays Chinese whatever the UI language, so exports re-import anywhere.
TYPE_LABELS = {"single": "单选题", "multiple": "多选题", "truefalse": "判断题"}


def answer_label(q: ParsedQuestion) -> str:
    if q.qtype == "truefalse":
        return {"T": "正确", "F": "错误"}.get(q.answer, q.answer)
    return q.answer


def question_rows(questions: list[ParsedQuestion]) -> tuple[list[str], list[list[str]]]:
    """Headers and string rows in the template's column order."""
    n_options = max([4, *(len(q.options) for q in questions)])
    headers = ["题型", "题干", *(f"选项{ch}" for ch in LETTERS[:n_options]), "答案", "解析", "难度", "标签", "出处"]
    with_category = any(q.category for q in questions)
    if with_category:
        headers.append("分类")
    rows = []
    for q in questions:
        options = list(q.options) + [""] * (n_options - len(q.options))
        row = [TYPE_LABELS.get(q.qtype, q.qtype), q.stem, *options, answer_label(q), q.explanation,
               DIFFICULTY_LABELS.get(q.difficulty or 0, ""), "、".join(q.tags), q.source]
        if with_category:
            row.append(q.category)
        rows.append(row)
    return headers, rows


EXAMPLE_ROWS = [
    ["单选题", "发现火灾时，应立即拨打的火警电话是（ ）。", "110", "119", "120", "122", "", "", "", "", "B",
     "火警电话为 119。", "易", "消防、应急处置", "《中华人民共和国消防法》"],
    ["判断题", "生产经营单位的从业人员有权拒绝违章指挥和强令冒险作业。", "", "", "", "", "", "", "", "", "正确",
     "从业人员享有拒绝违章指挥和强令冒险作业的权利。", "中", "从业人员权利", "《中华人民共和国安全生产法》"],
]


# --- csv ----------------------------------------------------------------------


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";", "，")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def parse_csv(data: bytes) -> ParseResult:
    """Parse a csv/tsv bank in UTF-8, UTF-8 BOM, UTF-16 or GB18030/GBK."""
    out = Collector()
    try:
        text = decode_text(data)
    except Rejected as exc:
        out.problem(FILE_REF, str(exc))
        return out.result()
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error as exc:
        out.problem(FILE_REF, _("CSV 格式错误：%(detail)s", detail=str(exc)))
        return out.result()
    header = find_header(rows)
    if header is None:
        out.problem(FILE_REF, missing_header_message(rows))
        return out.result()
    warn_unknown_columns(header, out, _("第 %(row)d 行", row=header.index + 1))
    template = _("第 %(row)d 行")
    convert_rows(rows, header, out, lambda i: template % {"row": i + 1}, unquote=True)
    return out.result()


def _guard(value: str) -> str:
    # Spreadsheet apps evaluate cells starting with = + - @; a leading quote keeps them text
    # (and a leading quote is itself quoted, so parse_csv can undo exactly one).
    return "'" + value if value[:1] in _QUOTED else value


def write_csv(headers: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([[_guard(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")


def export_csv(questions: list[ParsedQuestion]) -> bytes:
    """UTF-8 with BOM so Excel on Chinese Windows opens it correctly."""
    return write_csv(*question_rows(questions))


def template_csv() -> bytes:
    return write_csv(EXPORT_HEADERS, EXAMPLE_ROWS)
