"""Aiken: one question per block, options "A." / "A)", then "ANSWER: B".

Like Moodle this rejects (with the line number) a question with fewer than two options,
options with no question before them, and a question left without its ANSWER line. Two
extensions: "ANSWER: A,C" reads as a multiple-answer question, and a two-option question whose
options are 正确/错误 (True/False, 对/错) becomes a true/false question, which is how
true/false questions are written out in this format.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from trainapp.questionbank.qtypes import LETTERS, REGISTRY

from .common import FILE_REF, Collector, ParsedQuestion, ParseResult, file_problem
from .safety import Rejected, decode_text
from .tabular import _truefalse_pair

_OPTION = re.compile(r"^([A-Z])\s*[.)．、]\s*(.*)$")
_ANSWER = re.compile(r"^ANSWER\s*[:：]\s*(.*)$", re.IGNORECASE)


def looks_like_aiken(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()[:5000]]
    return any(_ANSWER.match(line) for line in lines) and any(_OPTION.match(line) for line in lines)


class _Parser:
    def __init__(self) -> None:
        self.out = Collector()
        self.state: str | None = None  # None | "stem" | "options" | "orphan"
        self.start = 0
        self.stem: list[str] = []
        self.options: list[str] = []

    def line(self, number: int, text: str) -> None:
        text = text.strip()
        if not text:
            return
        answer = _ANSWER.match(text)
        option = _OPTION.match(text)
        if answer:
            self._answer(number, answer.group(1).strip())
        elif option and (self.state != "stem" or option.group(1) == "A"):  # "B. …" under a stem is stem text
            self._option(number, option.group(1), option.group(2).strip())
        elif self.state in (None, "stem"):
            if self.state is None:
                self.state, self.start, self.stem, self.options = "stem", number, [], []
            self.stem.append(text)
        else:
            if self.state == "options":
                self._unfinished()
            self.state, self.start, self.stem, self.options = "stem", number, [text], []

    def _ref(self) -> str:
        return _("第 %(line)d 行", line=self.start)

    def _option(self, number: int, letter: str, text: str) -> None:
        if self.state is None:
            self.out.problem(_("第 %(line)d 行", line=number), _("选项前面没有题干（Aiken 格式的题干写在选项之前的一行）"))
            self.state = "orphan"
            return
        if self.state == "orphan":
            return
        expected = LETTERS[len(self.options)] if len(self.options) < len(LETTERS) else None
        if letter != expected:
            self.out.problem(_("第 %(line)d 行", line=number),
                             _("选项字母 %(letter)s 的顺序不对，这里应为 %(expected)s", letter=letter, expected=expected or "-"))
            self.state = "orphan"
            return
        self.options.append(text)
        self.state = "options"

    def _answer(self, number: int, raw: str) -> None:
        state, self.state = self.state, None
        if state is None:
            self.out.problem(_("第 %(line)d 行", line=number), _("ANSWER 行前面没有题目"))
            return
        if state == "orphan":
            return
        if len(self.options) < 2:
            self.out.problem(self._ref(), _("至少需要两个选项（这道题有 %(n)d 个）", n=len(self.options)))
            return
        options = self.options
        letters = REGISTRY["single"].normalise_answer(raw, len(options))
        qtype = "multiple" if len(letters) > 1 and letters.isalpha() else "single"
        answer = letters
        pair = _truefalse_pair(options)
        if pair and letters in ("A", "B"):
            qtype, answer, options = "truefalse", pair["AB".index(letters)], []
        self.out.add(ParsedQuestion(qtype=qtype, stem="\n".join(self.stem), options=options, answer=answer,
                                    ref=self._ref()))

    def _unfinished(self) -> None:
        self.out.problem(self._ref(), _("题目缺少“ANSWER:”行"))

    def result(self) -> ParseResult:
        if self.state == "options":
            self._unfinished()
        elif self.state == "stem":
            self.out.problem(self._ref(), _("题目没有选项和“ANSWER:”行"))
        if not self.out.questions and not self.out.problems:
            self.out.problem(FILE_REF, _("没有找到 Aiken 格式的题目"))
        return self.out.result()


def parse_aiken(data: bytes) -> ParseResult:
    try:
        text = decode_text(data)
    except Rejected as exc:
        return file_problem(str(exc))
    parser = _Parser()
    for number, line in enumerate(text.splitlines(), start=1):
        parser.line(number, line)
    return parser.result()


def export_aiken(questions: list[ParsedQuestion]) -> bytes:
    """Single-line stems and options; true/false as 正确/错误 options."""
    blocks = []
    for q in questions:
        options = ["正确", "错误"] if q.qtype == "truefalse" else q.options
        answer = {"T": "A", "F": "B"}.get(q.answer, q.answer) if q.qtype == "truefalse" else ",".join(q.answer)
        lines = [_one_line(q.stem)]
        lines += [f"{letter}. {_one_line(text)}" for letter, text in zip(LETTERS, options)]
        lines.append(f"ANSWER: {answer}")
        blocks.append("\n".join(lines))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())
