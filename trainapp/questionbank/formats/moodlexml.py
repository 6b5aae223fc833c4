"""Moodle XML: multichoice, truefalse and categories; other question types are listed as unsupported.

Text with format="html" is rendered to plain text; other formats are kept verbatim. Answer
fractions must be grades Moodle itself offers (100, 50, 33.33333, −25 …): files with other
values are rejected, as Moodle rejects them. A fraction above zero marks a correct option; in a
single-answer question only the 100% option is correct.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask_babel import gettext as _

from trainapp.questionbank.qtypes import LETTERS, REGISTRY

from .common import FILE_REF, Collector, ParsedQuestion, ParseResult, export_text, file_problem, html_to_text
from .gift import _clean_category
from .safety import Rejected, parse_xml

UNSUPPORTED = {
    "essay": "问答题", "matching": "匹配题", "numerical": "数值题", "shortanswer": "简答/填空题",
    "cloze": "嵌入式答案题", "multianswer": "嵌入式答案题", "description": "说明文字", "calculated": "计算题",
    "calculatedsimple": "计算题", "calculatedmulti": "计算选择题", "ddwtos": "拖放填空题", "gapselect": "选择填空题",
    "ddmarker": "拖放标记题", "ddimageortext": "拖放图片题", "randomsamatch": "随机匹配题", "random": "随机题",
}
# Grades Moodle offers in its editors: 100/n for n = 1…10 and 20, and multiples of 5 and 10.
_GRADES = sorted({round(100 / n, 5) for n in (*range(1, 11), 20)} | {float(v) for v in range(0, 101, 5)}
                 | {round(200 / 3, 5), round(250 / 3, 5)})


def _valid_grade(value: float) -> bool:
    return any(abs(abs(value) - g) < 0.01 for g in _GRADES)


def _text(element: ET.Element | None, images: list[int]) -> str:
    """Text of a <questiontext>/<answer>/… element, honouring its format attribute."""
    if element is None:
        return ""
    node = element.find("text")
    raw = (node.text if node is not None else element.text) or ""
    if element.get("format", "") == "html":
        text, count = html_to_text(raw)
        images.append(count)
        return text
    return raw.strip()


def parse_moodlexml(data: bytes) -> ParseResult:
    try:
        root = parse_xml(data)
    except Rejected as exc:
        return file_problem(str(exc))
    if root.tag != "quiz":
        return file_problem(_("不是 Moodle XML 题库：根元素应为 <quiz>"))
    out = Collector()
    category = ""
    number = 0
    for element in root.iter("question"):
        kind = element.get("type", "")
        if kind == "category":
            category = _clean_category(_text(element.find("category"), []))
            continue
        number += 1
        name = _text(element.find("name"), [])
        ref = _("第 %(n)d 题「%(name)s」", n=number, name=name[:40]) if name else _("第 %(n)d 题", n=number)
        if kind not in ("multichoice", "truefalse"):
            out.unsupported(ref, f"{UNSUPPORTED.get(kind, _('未知题型'))}（{kind or '?'}）")
            continue
        images: list[int] = []
        q = ParsedQuestion(
            qtype="truefalse", stem=_text(element.find("questiontext"), images), options=[], answer="",
            explanation=_text(element.find("generalfeedback"), images),
            tags=[t for t in (_text(tag, []) for tag in element.iterfind("tags/tag")) if t],
            ref=ref, category=category,
        )
        answers = [(a, _fraction(a.get("fraction", "0"))) for a in element.iterfind("answer")]
        if any(f is None for _a, f in answers):
            out.problem(ref, _("选项的分值（fraction）不是数字"))
            continue
        filled = _truefalse(out, q, answers) if kind == "truefalse" else _multichoice(out, q, element, answers, images)
        if not filled:
            continue
        if sum(images) or element.find("image") is not None:
            out.warn(ref, _("题目中的图片无法导入，已替换为“[图片]”或省略"))
        out.add(q)
    if not out.questions and not out.problems:
        out.problem(FILE_REF, _("文件中没有题目"))
    return out.result()


def _fraction(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value else None  # NaN is not a grade


def _truefalse(out: Collector, q: ParsedQuestion, answers) -> bool:
    correct = [a for a, f in answers if f > 0]
    if len(correct) != 1:
        out.problem(q.ref, _("判断题应当恰好有一个正确答案"))
        return False
    q.answer = REGISTRY["truefalse"].normalise_answer(_text(correct[0], []))
    return True


def _multichoice(out: Collector, q: ParsedQuestion, element, answers, images: list[int]) -> bool:
    single = (element.findtext("single") or "true").strip().lower() in ("true", "1")
    for index, (_answer, fraction) in enumerate(answers):
        if not _valid_grade(fraction) or abs(fraction) > 100:
            letter = LETTERS[index] if index < len(LETTERS) else str(index + 1)
            out.problem(q.ref, _("选项 %(letter)s 的分值 %(value)s%% 不是 Moodle 允许的分值（如 100、50、33.33333、25）",
                                 letter=letter, value=f"{fraction:g}"))
            return False
    q.options = [_text(a, images) for a, _f in answers]
    fractions = [f for _a, f in answers]
    positive = [i for i, f in enumerate(fractions) if f > 0]
    if single:
        correct = [i for i, f in enumerate(fractions) if f >= 99.999]
        if len(correct) != 1:
            out.problem(q.ref, _("单选题应当恰好有一个 100%% 的选项（现有 %(n)d 个）", n=len(correct)))
            return False
        if len(positive) > 1:
            out.warn(q.ref, _("部分得分的选项已按错误选项导入（本系统不支持按选项给部分分）"))
    else:
        correct = positive
        total = sum(fractions[i] for i in positive)
        if abs(total - 100) > 0.1:
            out.problem(q.ref, _("多选题正确选项的分值之和应为 100%%，现为 %(total)s%%", total=f"{total:g}"))
            return False
        if len(correct) == 1:
            out.warn(q.ref, _("该题设为多选但只有一个正确答案，已按单选题导入"))
    q.qtype = "single" if len(correct) == 1 else "multiple"
    q.answer = "".join(LETTERS[i] for i in correct if i < len(LETTERS))
    return True


# --- export -------------------------------------------------------------------


def _text_element(parent: ET.Element, tag: str, text: str, fmt: str | None = "plain_text") -> ET.Element:
    element = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(element, "text").text = export_text(text)
    return element


def _grade(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".")


def export_moodlexml(questions: list[ParsedQuestion]) -> bytes:
    quiz = ET.Element("quiz")
    category = ""
    for q in questions:
        if q.category != category:
            holder = ET.SubElement(quiz, "question", {"type": "category"})
            _text_element(holder, "category", "$course$/top/" + q.category if q.category else "$course$/top", None)
            category = q.category
        kind = "truefalse" if q.qtype == "truefalse" else "multichoice"
        element = ET.SubElement(quiz, "question", {"type": kind})
        _text_element(element, "name", " ".join(q.stem.split())[:60], None)
        _text_element(element, "questiontext", q.stem)
        _text_element(element, "generalfeedback", q.explanation)
        ET.SubElement(element, "defaultgrade").text = "1"
        if kind == "truefalse":
            for word, value in (("true", "T"), ("false", "F")):
                answer = _text_element(element, "answer", word, "moodle_auto_format")
                answer.set("fraction", "100" if q.answer == value else "0")
        else:
            ET.SubElement(element, "single").text = "true" if q.qtype == "single" else "false"
            ET.SubElement(element, "shuffleanswers").text = "true"
            ET.SubElement(element, "answernumbering").text = "ABCD"
            share = 100 / max(len(q.answer), 1)
            for letter, option in zip(LETTERS, q.options):
                if q.qtype == "single":
                    fraction = "100" if letter in q.answer else "0"
                else:
                    fraction = _grade(share if letter in q.answer else -share)
                answer = _text_element(element, "answer", option)
                answer.set("fraction", fraction)
        if q.tags:
            tags = ET.SubElement(element, "tags")
            for tag in q.tags:
                ET.SubElement(ET.SubElement(tags, "tag"), "text").text = export_text(tag)
    ET.indent(quiz)
    body = ET.tostring(quiz, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
