"""Question-type registry: validation, answer normalisation and grading on plain values.

Answers are stored canonically: choice questions as sorted option letters ("B", "ACD"),
true/false as "T" or "F". New types subclass :class:`QuestionType` and are added to
:data:`REGISTRY`.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LETTERS = "ABCDEFGH"
MAX_OPTIONS = len(LETTERS)

_SEPARATORS = re.compile(r"[\s,，、;；/|．.]+")
_TRUE_WORDS = {"t", "true", "对", "正确", "√", "✓", "✔", "是", "y", "yes", "1", "√对"}
_FALSE_WORDS = {"f", "false", "错", "错误", "×", "✗", "✘", "x", "否", "n", "no", "0", "╳"}


def _fold(text: str) -> str:
    """Full-width to half-width, strip, lower-case (so "Ａ，Ｃ" reads like "a,c")."""
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def _letters(raw: str) -> str | None:
    """Parse "ACD", "A,C,D", "a c d", "A、C" into sorted unique letters, or None."""
    compact = _SEPARATORS.sub("", _fold(raw)).upper()
    if not compact or not compact.isascii() or not compact.isalpha():
        return None
    return "".join(sorted(set(compact)))


class QuestionType:
    """Base class: one instance per type lives in REGISTRY."""

    code = ""
    label = ""
    has_options = True

    def normalise_answer(self, raw: str, n_options: int) -> str:
        """Return the canonical answer, or the trimmed input when it cannot be read."""
        raise NotImplementedError

    def validate(self, options: list[str], answer: str) -> list[str]:
        """Return user-facing error messages; empty when the question is usable."""
        raise NotImplementedError

    def grade(self, key: str, response: str, *, points: float, partial: bool) -> float:
        """Score a response against the key."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<QuestionType {self.code}>"


class _ChoiceType(QuestionType):
    min_answers = 1
    max_answers = MAX_OPTIONS

    def normalise_answer(self, raw: str, n_options: int) -> str:
        letters = _letters(raw)
        return letters if letters is not None else (raw or "").strip()

    def validate(self, options: list[str], answer: str) -> list[str]:
        errors: list[str] = []
        if len(options) < 2:
            errors.append(_("%(type)s至少需要两个选项", type=self.label))
        if len(options) > MAX_OPTIONS:
            errors.append(_("选项最多 %(n)d 个（A–H），当前有 %(count)d 个", n=MAX_OPTIONS, count=len(options)))
        for letter, text in zip(LETTERS, options):
            if not (text or "").strip():
                errors.append(_("选项 %(letter)s 为空", letter=letter))
        if not answer:
            errors.append(_("缺少答案"))
            return errors
        letters = _letters(answer)
        if letters is None:
            errors.append(_("无法识别的答案“%(answer)s”，应填写选项字母，如 B 或 ACD", answer=answer))
            return errors
        missing = [ch for ch in letters if ch not in LETTERS[: len(options)]]
        if missing:
            errors.append(_("答案 %(answer)s 没有对应的选项", answer="".join(missing)))
        errors.extend(self._count_errors(letters))
        return errors

    def _count_errors(self, letters: str) -> list[str]:
        return []

    @staticmethod
    def _picked(response: str) -> set[str]:
        return set(_letters(response or "") or "")


class SingleChoice(_ChoiceType):
    code = "single"
    label = _l("单选题")

    def _count_errors(self, letters: str) -> list[str]:
        if len(letters) > 1:
            return [_("单选题只能有一个答案，当前答案为 %(answer)s", answer=letters)]
        return []

    def grade(self, key: str, response: str, *, points: float, partial: bool) -> float:
        """All or nothing: the one letter picked must be the key."""
        return float(points) if self._picked(response) == self._picked(key) and key else 0.0


class MultipleChoice(_ChoiceType):
    code = "multiple"
    label = _l("多选题")

    def _count_errors(self, letters: str) -> list[str]:
        if len(letters) < 2:
            return [_("多选题至少要有两个正确答案，当前只有 %(answer)s；只有一个正确答案的题请改为单选题", answer=letters)]
        return []

    def grade(self, key: str, response: str, *, points: float, partial: bool) -> float:
        """Score a multiple-answer question.

        Without ``partial`` the response must match the key exactly (all or nothing).
        With ``partial`` the score is ``points × (correct picked − wrong picked) / number of
        correct options``, floored at 0: picking every right option and nothing else earns full
        points, each wrong pick cancels one right pick, and guessing everything earns nothing
        more than leaving it blank.
        """
        correct = self._picked(key)
        picked = self._picked(response)
        if not correct:
            return 0.0
        if not partial:
            return float(points) if picked == correct else 0.0
        hits = len(picked & correct)
        misses = len(picked - correct)
        return max(0.0, float(points) * (hits - misses) / len(correct))


class TrueFalse(QuestionType):
    code = "truefalse"
    label = _l("判断题")
    has_options = False

    def normalise_answer(self, raw: str, n_options: int = 0) -> str:
        word = _fold(raw).strip("。.!！ ")
        if word in _TRUE_WORDS:
            return "T"
        if word in _FALSE_WORDS:
            return "F"
        return (raw or "").strip()

    def validate(self, options: list[str], answer: str) -> list[str]:
        errors: list[str] = []
        if options:
            errors.append(_("判断题不应有选项（共 %(count)d 个）；如果是选择题，请把题型改为单选题", count=len(options)))
        if not answer:
            errors.append(_("缺少答案"))
        elif answer not in ("T", "F"):
            errors.append(_("判断题答案应为“正确”或“错误”，当前为“%(answer)s”", answer=answer))
        return errors

    def grade(self, key: str, response: str, *, points: float, partial: bool) -> float:
        """All or nothing; the response may be spelt any way normalise_answer accepts."""
        given = self.normalise_answer(response or "")
        return float(points) if key in ("T", "F") and given == key else 0.0


REGISTRY: dict[str, QuestionType] = {t.code: t for t in (SingleChoice(), MultipleChoice(), TrueFalse())}

_LABELS = (
    ("multiple", ("不定项", "多选", "多项选择", "多项", "复选", "multiple", "multi", "multichoice", "checkbox")),
    ("single", ("单选", "单项选择", "单项", "single", "singlechoice", "radio")),
    ("truefalse", ("判断", "是非", "对错", "正误", "truefalse", "true/false", "tf", "t/f", "boolean", "judge")),
)
_LABEL_NOISE = re.compile(r"[\s_\-—:：()（）\[\]【】]+")


@functools.lru_cache(maxsize=256)
def type_from_label(text: str) -> str | None:
    """Map a type label such as "单项选择题" or "TF" to a registry code, or None."""
    folded = _LABEL_NOISE.sub("", _fold(text))
    if not folded:
        return None
    if folded in REGISTRY:
        return folded
    for code, words in _LABELS:
        for word in words:
            if word.isascii():
                if folded in (word, word + "choice", word + "question") or folded == word.replace("/", ""):
                    return code
            elif word in folded:
                return code
    return None


def get(code: str) -> QuestionType:
    """Return the registered type for ``code``; raises KeyError when unknown."""
    return REGISTRY[code]
