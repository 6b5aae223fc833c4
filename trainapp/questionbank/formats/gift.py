"""Moodle GIFT: multiple choice (single and multiple answer) and true/false.

Text handling: ``[html]`` text is rendered to plain text (tags stripped, block tags and <br>
become line breaks, entities decoded); ``[moodle]``, ``[plain]`` and unmarked text are kept
verbatim apart from whitespace, which is collapsed as Moodle does; ``[markdown]`` keeps its
line breaks. The app escapes all text on display, so markup left in verbatim text is harmless.

Correct options: when any option is fully right (``=`` or a weight of 100%) those are the
correct ones (several make a multiple-answer question; partial-credit options count as wrong,
with a warning). Otherwise every option with a positive weight is correct (``~%50%``…).
A choice list with text after it ("Grant is {…} in Grant's tomb.") is a missing-word question
and is imported as a choice question whose stem shows the gap as "_____".
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from trainapp.questionbank.qtypes import LETTERS

from .common import FILE_REF, Collector, ParsedQuestion, ParseResult, file_problem, html_to_text
from .safety import Rejected, decode_text

_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
_PLACEHOLDERS = {"\\": "\ue000", "~": "\ue001", "=": "\ue002", "#": "\ue003", "{": "\ue004", "}": "\ue005",
                 ":": "\ue006", "n": "\ue007"}
_RESTORE = str.maketrans({v: ("\n" if k == "n" else k) for k, v in _PLACEHOLDERS.items()})
_PRIVATE = re.compile("[\ue000-\ue007]")
_FORMAT = re.compile(r"^\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_TITLE = re.compile(r"^\s*::(.*?)::", re.DOTALL)
_TF = re.compile(r"^(T|TRUE|F|FALSE)\s*(?:#.*)?$", re.DOTALL | re.IGNORECASE)
_WEIGHT = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
_TAG = re.compile(r"\[tag:([^\]]+)\]")

UNSUPPORTED = {
    "essay": "问答题（essay）",
    "numerical": "数值题（numerical）",
    "matching": "匹配题（matching）",
    "short": "简答/填空题（short answer）",
    "description": "说明文字（description）",
    "cloze": "嵌入式答案题（cloze）",
}


def _protect(text: str) -> str:
    """Swap GIFT escapes for private-use placeholders so control characters can be split on."""
    return _ESCAPE.sub(lambda m: _PLACEHOLDERS[m.group(1)], _PRIVATE.sub("", text))


def _text(raw: str, fmt: str, images: list[int]) -> str:
    """Placeholder-protected GIFT text → plain text (see the module docstring)."""
    if fmt == "markdown":
        lines = [line.rstrip() for line in raw.strip().split("\n")]
        return "\n".join(lines).translate(_RESTORE).strip()
    # Line breaks in the file are layout (use \\n for a real one); spaces within a line are kept.
    text = re.sub(r"[ \t]*\n[ \t]*", " ", raw).strip().translate(_RESTORE)
    if fmt == "html":
        text, count = html_to_text(text)
        images.append(count)
    return text.strip()


def _split_format(raw: str, default: str) -> tuple[str, str]:
    match = _FORMAT.match(raw)
    return (match.group(1).lower(), raw[match.end():]) if match else (default, raw)


def _blocks(text: str):
    """Yield (first line number, block text, tags, category) for each question."""
    current: list[str] = []
    start = depth = 0
    tags: list[str] = []
    category = ""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            tags.extend(t.strip() for t in _TAG.findall(stripped))
            continue
        if depth == 0 and (not stripped or stripped.startswith("$CATEGORY:")):
            if current:
                yield start, "\n".join(current), tags, category
                current, tags = [], []
            if stripped:
                category = _clean_category(stripped[len("$CATEGORY:"):])
            continue
        if not current:
            start = number
        current.append(line)
        depth = max(0, depth + line.count("{") - line.count("}"))
    if current:
        yield start, "\n".join(current), tags, category


def _clean_category(path: str) -> str:
    """"$course$/top/Default for X" → "Default for X"; keeps the rest of the path."""
    parts = [p for p in path.translate(_RESTORE).strip().split("/") if p]
    if parts and re.fullmatch(r"\$\w+\$", parts[0]):
        parts = parts[1:]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return "/".join(parts)


def parse_gift(data: bytes) -> ParseResult:
    try:
        text = decode_text(data)
    except Rejected as exc:
        return file_problem(str(exc))
    out = Collector()
    protected = _protect(text.replace("\r\n", "\n").replace("\r", "\n"))
    for start, block, tags, category in _blocks(protected):
        _question(out, _("第 %(line)d 行", line=start), block, tags, category)
    if not out.questions and not out.problems:
        out.problem(FILE_REF, _("没有找到 GIFT 格式的题目"))
    return out.result()


def _question(out: Collector, ref: str, block: str, tags: list[str], category: str) -> None:
    rest = block
    title = _TITLE.match(rest)
    if title:
        rest = rest[title.end():]
    fmt, rest = _split_format(rest, "moodle")
    opening = rest.find("{")
    if opening < 0:
        out.unsupported(ref, UNSUPPORTED["description"])
        return
    closing = rest.find("}", opening)
    if closing < 0:
        out.problem(ref, _("答案部分缺少右花括号“}”"))
        return
    before, inside, after = rest[:opening], rest[opening + 1:closing], rest[closing + 1:]
    if "{" in after:
        out.unsupported(ref, UNSUPPORTED["cloze"])
        return
    inside, _sep, general = inside.partition("####")
    body = inside.strip()
    images: list[int] = []
    if not body:
        kind = "essay"
    elif body.startswith("#"):
        kind = "numerical"
    elif _TF.match(body):
        kind = "truefalse"
    elif "~" in body:
        kind = "choice"
    else:
        items = [i for i in re.split(r"(?=[=])", body) if i.strip()]
        kind = "matching" if items and all(i.startswith("=") and "->" in i for i in items) else "short"
    if kind not in ("truefalse", "choice"):
        out.unsupported(ref, UNSUPPORTED[kind])
        return
    if kind == "truefalse":
        stem_raw = before.rstrip() + (" " + after.strip() if after.strip() else "")
    else:
        stem_raw = before.rstrip() + (" _____ " + after.lstrip() if after.strip() else "")
    general_fmt, general = _split_format(general, fmt)
    question = ParsedQuestion(
        qtype="truefalse", stem=_text(stem_raw, fmt, images), options=[], answer="",
        explanation=_text(general, general_fmt, images),
        tags=list(dict.fromkeys(tags)), ref=ref, category=category,
    )
    if kind == "truefalse":
        question.answer = "T" if _TF.match(body).group(1).upper().startswith("T") else "F"
    elif not _choices(out, question, body, fmt, images):
        return
    if sum(images):
        out.warn(ref, _("题目中的图片无法导入，已替换为“[图片]”"))
    out.add(question)


def _choices(out: Collector, q: ParsedQuestion, body: str, fmt: str, images: list[int]) -> bool:
    """Fill options/answer/qtype from "=a ~b ~%50%c #feedback"; False when unusable."""
    weights: list[float] = []
    for item in re.split(r"(?=[=~])", body):
        if not item.strip():
            continue
        if item[0] not in "=~":
            out.problem(q.ref, _("无法识别的答案写法“%(text)s”：每个选项应以 = 或 ~ 开头", text=item.strip()[:30]))
            return False
        raw = item[1:]
        weight = _WEIGHT.match(raw)
        if weight:
            raw = raw[weight.end():]
        value = float(weight.group(1)) if weight else (100.0 if item[0] == "=" else 0.0)
        text, _hash, _feedback = raw.partition("#")
        option_fmt, text = _split_format(text, fmt)
        q.options.append(_text(text, option_fmt, images))
        weights.append(value)
    full = [i for i, w in enumerate(weights) if w >= 99.999]
    positive = [i for i, w in enumerate(weights) if w > 0]
    if full:
        correct = full
        if len(positive) > len(full):
            out.warn(q.ref, _("部分得分的选项已按错误选项导入（本系统不支持按选项给部分分）"))
    elif len(positive) >= 2:
        correct = positive
    elif positive:
        out.problem(q.ref, _("只有一个选项有分值且不足 100%，无法确定正确答案"))
        return False
    else:
        out.problem(q.ref, _("没有正确答案：请用 = 标出正确选项，或给正确选项加上正的百分比"))
        return False
    q.qtype = "single" if len(correct) == 1 else "multiple"
    q.answer = "".join(LETTERS[i] for i in correct if i < len(LETTERS))
    return True


# --- export -------------------------------------------------------------------


def _escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for ch in "~=#{}:":
        text = text.replace(ch, "\\" + ch)
    text = text.replace("\r", "").replace("\n", "\\n")
    # Text opening with "[html]" or "%50%" would read as markup: an explicit [moodle] keeps it text.
    return "[moodle]" + text if text[:1] in ("[", "%") else text


def _weight(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".")


def export_gift(questions: list[ParsedQuestion]) -> bytes:
    chunks: list[str] = []
    category = ""
    for q in questions:
        if q.category != category:
            # "$course$/top" is Moodle's own name for the course's top category ("no category").
            chunks.append(f"$CATEGORY: $course$/top/{q.category}\n" if q.category else "$CATEGORY: $course$/top\n")
            category = q.category
        lines = []
        if q.tags:
            lines.append("// " + " ".join(f"[tag:{t.replace(']', '')}]" for t in q.tags))
        title = _escape(q.stem.replace("\n", " ")[:30])
        lines.append(f"::{title}::{_escape(q.stem)} {{")
        if q.qtype == "truefalse":
            lines.append("TRUE" if q.answer == "T" else "FALSE")
        else:
            n = len(q.answer)
            for letter, option in zip(LETTERS, q.options):
                if q.qtype == "single":
                    lines.append(("=" if letter in q.answer else "~") + _escape(option))
                else:
                    share = _weight(100 / n) if letter in q.answer else "-" + _weight(100 / n)
                    lines.append(f"~%{share}%{_escape(option)}")
        if q.explanation:
            lines.append("####" + _escape(q.explanation))
        lines.append("}")
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks).encode("utf-8")
