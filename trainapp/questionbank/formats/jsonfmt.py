"""The canonical, lossless JSON bank format (also used for the banks shipped with the app).

    {"format": "trainapp-questionbank", "version": 1,
     "bank": {"name": …, "subject": …, "description": …, "sectors": […], "audiences": […]},
     "questions": [{"type": "single", "stem": …, "options": […], "answer": "B", "explanation": …,
                    "source": …, "difficulty": 2, "tags": […]}]}

Validation is strict: wrong value types are errors naming the question ("第 N 题"); unknown keys
are warnings.
"""

from __future__ import annotations

import json
import re

from flask_babel import gettext as _

from trainapp.questionbank.qtypes import REGISTRY

from .common import FILE_REF, Collector, ParsedQuestion, ParseResult, clean_text, file_problem
from .safety import Rejected, decode_text

FORMAT_ID = "trainapp-questionbank"
VERSION = 1
_BANK_FIELDS = {"name": str, "subject": str, "description": str, "sectors": list, "audiences": list}
_TEXT_FIELDS = ("stem", "explanation", "source", "category")
_QUESTION_KEYS = {"type", "stem", "options", "answer", "explanation", "source", "difficulty", "tags", "category"}
_UNSUPPORTED_TYPES = {"essay", "matching", "numerical", "shortanswer", "short", "cloze", "description", "fill",
                      "fillblank", "blank"}


_JSON_START = re.compile(r'^\s*(?:\{\s*["}]|\[\s*[\[{"\]])')


def looks_like_json(text: str) -> bool:
    """An object or array opening as JSON does (GIFT also starts lines with "{")."""
    return bool(_JSON_START.match(text))


def _is_str_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_bank(bank, out: Collector) -> dict | None:
    ref = _("题库信息")
    if bank is None:
        return None
    if not isinstance(bank, dict):
        out.problem(ref, _("bank 应为对象"))
        return None
    for key, value in bank.items():
        expected = _BANK_FIELDS.get(key)
        if expected is None:
            out.warn(ref, _("未知字段 %(key)s，已忽略", key=key))
        elif expected is list and not _is_str_list(value):
            out.problem(ref, _("字段 %(key)s 应为字符串列表", key=key))
        elif expected is str and not isinstance(value, str):
            out.problem(ref, _("字段 %(key)s 应为字符串", key=key))
    if not isinstance(bank.get("name"), str) or not bank.get("name", "").strip():
        out.problem(ref, _("缺少题库名称 name"))
    return {k: v for k, v in bank.items() if k in _BANK_FIELDS}


def _question(item, number: int, out: Collector) -> None:
    ref = _("第 %(n)d 题", n=number)
    if not isinstance(item, dict):
        out.problem(ref, _("应为对象（{…}）"))
        return
    for key in item:
        if key not in _QUESTION_KEYS:
            out.warn(ref, _("未知字段 %(key)s，已忽略", key=key))
    qtype = item.get("type")
    if not isinstance(qtype, str) or not qtype:
        out.problem(ref, _("缺少题型 type（single、multiple 或 truefalse）"))
        return
    if qtype not in REGISTRY:
        if qtype.lower() in _UNSUPPORTED_TYPES:
            out.unsupported(ref, qtype)
        else:
            out.problem(ref, _("未知题型 %(type)s（应为 single、multiple 或 truefalse）", type=qtype))
        return
    errors = []
    for key in _TEXT_FIELDS:
        if key in item and not isinstance(item[key], str):
            errors.append(_("字段 %(key)s 应为字符串", key=key))
    if "stem" not in item:
        errors.append(_("缺少题干 stem"))
    if not isinstance(item.get("answer"), str):
        errors.append(_("字段 answer 应为字符串，如 \"B\"、\"ACD\"、\"T\""))
    for key in ("options", "tags"):
        if key in item and not _is_str_list(item[key]):
            errors.append(_("字段 %(key)s 应为字符串列表", key=key))
    difficulty = item.get("difficulty")
    if difficulty is not None and (type(difficulty) is not int or difficulty not in (1, 2, 3)):
        errors.append(_("字段 difficulty 应为 1、2、3 或 null"))
    if errors:
        for message in errors:
            out.problem(ref, message)
        return
    options = [clean_text(o) for o in item.get("options", [])]
    out.add(ParsedQuestion(
        qtype=qtype,
        stem=clean_text(item["stem"]),
        options=options,
        answer=REGISTRY[qtype].normalise_answer(item["answer"], len(options)),
        explanation=clean_text(item.get("explanation", "")),
        source=clean_text(item.get("source", "")),
        difficulty=difficulty,
        tags=[t for t in (clean_text(t) for t in item.get("tags", [])) if t],
        ref=ref,
        category=clean_text(item.get("category", "")),
    ))


def parse_json(data: bytes) -> ParseResult:
    try:
        document = json.loads(decode_text(data))
    except Rejected as exc:
        return file_problem(str(exc))
    except json.JSONDecodeError as exc:
        return file_problem(_("JSON 格式错误（第 %(line)d 行第 %(col)d 列）：%(msg)s", line=exc.lineno, col=exc.colno,
                              msg=exc.msg))
    except (ValueError, RecursionError):
        return file_problem(_("JSON 格式错误或嵌套过深"))
    if not isinstance(document, dict):
        return file_problem(_("JSON 题库的最外层应为对象，且包含 format、version、questions"))
    out = Collector()
    if document.get("format") != FORMAT_ID:
        out.problem(FILE_REF, _("不是 trainapp 题库文件：format 应为 \"%(id)s\"", id=FORMAT_ID))
    if document.get("version") != VERSION or isinstance(document.get("version"), bool):
        out.problem(FILE_REF, _("不支持的题库文件版本 %(v)s（支持 %(ok)d）", v=document.get("version"), ok=VERSION))
    for key in document:
        if key not in ("format", "version", "bank", "questions"):
            out.warn(FILE_REF, _("未知字段 %(key)s，已忽略", key=key))
    bank = _check_bank(document.get("bank"), out)
    questions = document.get("questions")
    if not isinstance(questions, list):
        out.problem(FILE_REF, _("缺少题目列表 questions"))
        return out.result(bank)
    for number, item in enumerate(questions, start=1):
        _question(item, number, out)
    if not questions:
        out.warn(FILE_REF, _("题库中没有题目"))
    return out.result(bank)


def question_dict(q: ParsedQuestion) -> dict:
    item = {"type": q.qtype, "stem": q.stem, "options": list(q.options), "answer": q.answer,
            "explanation": q.explanation, "source": q.source, "difficulty": q.difficulty, "tags": list(q.tags)}
    if q.category:
        item["category"] = q.category
    return item


def export_json(questions: list[ParsedQuestion], bank: dict | None = None) -> bytes:
    document: dict = {"format": FORMAT_ID, "version": VERSION}
    if bank:
        document["bank"] = bank
    document["questions"] = [question_dict(q) for q in questions]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
