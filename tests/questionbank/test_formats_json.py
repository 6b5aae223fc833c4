"""The canonical JSON format: strict validation with numbered questions."""

import json

import pytest

from trainapp.questionbank.formats import FORMAT_ID, parse

BANK = {"name": "消防安全", "subject": "hazard_fire", "description": "重点单位", "sectors": ["fire_key"],
        "audiences": ["staff"]}
GOOD = {"type": "single", "stem": "灭火器压力表指针在哪个区域表示正常？", "options": ["红区", "绿区", "黄区"],
        "answer": "B", "explanation": "绿区正常。", "source": "GB 4351", "difficulty": 1, "tags": ["灭火器"]}


def document(*questions, **top):
    body = {"format": FORMAT_ID, "version": 1, "bank": BANK, "questions": list(questions)}
    body.update(top)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def test_a_good_bank():
    result = parse(document(GOOD, {"type": "truefalse", "stem": "可以用水灭油火。", "answer": "F"}), "b.json")
    assert result.ok and result.problems == []
    assert result.bank == BANK
    first, second = result.questions
    assert (first.qtype, first.options, first.answer, first.difficulty, first.tags, first.ref) == (
        "single", ["红区", "绿区", "黄区"], "B", 1, ["灭火器"], "第 1 题")
    assert (second.qtype, second.options, second.answer, second.explanation) == ("truefalse", [], "F", "")


@pytest.mark.parametrize("change, fragment", [
    ({"stem": 3}, "stem 应为字符串"),
    ({"options": "红区,绿区"}, "options 应为字符串列表"),
    ({"options": ["红区", 2]}, "options 应为字符串列表"),
    ({"answer": ["B"]}, "answer 应为字符串"),
    ({"difficulty": "2"}, "difficulty"),
    ({"difficulty": 2.0}, "difficulty"),
    ({"difficulty": True}, "difficulty"),
    ({"difficulty": 4}, "difficulty"),
    ({"tags": "灭火器"}, "tags 应为字符串列表"),
    ({"type": "choice"}, "未知题型"),
    ({"type": None}, "缺少题型"),
    ({"answer": "D"}, "答案 D 没有对应的选项"),
    ({"stem": ""}, "缺少题干"),
])
def test_wrong_values_are_errors_naming_the_question(change, fragment):
    result = parse(document(GOOD, {**GOOD, **change}), "b.json")
    assert not result.ok and len(result.questions) == 1
    assert any(p.ref == "第 2 题" and fragment in p.message for p in result.errors), result.problems


def test_unknown_keys_are_warnings():
    result = parse(document({**GOOD, "score": 2}, extra=1), "b.json")
    assert result.ok
    assert {(p.ref, p.kind) for p in result.problems} == {("第 1 题", "warning"), ("文件", "warning")}


def test_unsupported_types_are_reported_as_unsupported():
    result = parse(document(GOOD, {"type": "essay", "stem": "简述三同时。", "answer": ""}), "b.json")
    assert [(p.ref, p.kind) for p in result.problems] == [("第 2 题", "unsupported")]


@pytest.mark.parametrize("data, fragment", [
    (b'{"format": "other", "version": 1, "questions": []}', "format"),
    (b'{"format": "trainapp-questionbank", "version": 2, "questions": []}', "版本"),
    (b'{"format": "trainapp-questionbank", "version": 1}', "questions"),
    (b'[{"type": "single"}]', "最外层"),
    (b'{"format": "trainapp-questionbank", "version": 1, "questions": [1, "x"]}', "对象"),
    (b'{"format": "trainapp-questionbank", "version": 1, "bank": {"name": 5}, "questions": []}', "name"),
    (b'{"format": "trainapp-questionbank", "version": 1, "bank": {"name": "x", "sectors": "a"}, "questions": []}',
     "sectors"),
    (b'{"format": "trainapp-questionbank", "version": 1, "questions": [', "JSON 格式错误"),
    (b"[" * 100000 + b"]" * 100000, "JSON"),
])
def test_malformed_documents(data, fragment):
    result = parse(data, "b.json")
    assert not result.ok
    assert any(fragment in p.message for p in result.errors), result.problems
