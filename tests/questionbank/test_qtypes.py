"""Question-type registry: answer normalisation, validation and grading tables."""

import pytest

from trainapp.questionbank.qtypes import REGISTRY, get, type_from_label

SINGLE, MULTIPLE, TF = REGISTRY["single"], REGISTRY["multiple"], REGISTRY["truefalse"]
FOUR = ["甲", "乙", "丙", "丁"]


def test_registry_holds_the_three_types_with_chinese_labels():
    assert set(REGISTRY) == {"single", "multiple", "truefalse"}
    assert {code: str(t.label) for code, t in REGISTRY.items()} == {
        "single": "单选题", "multiple": "多选题", "truefalse": "判断题"}
    assert get("single") is SINGLE
    with pytest.raises(KeyError):
        get("essay")


@pytest.mark.parametrize("raw, expected", [
    ("B", "B"), ("b", "B"), ("ACD", "ACD"), ("DCA", "ACD"), ("A,C,D", "ACD"), ("a c d", "ACD"),
    ("A、C", "AC"), ("A，C", "AC"), ("ＡＣ", "AC"), (" A;C ", "AC"), ("AAC", "AC"), ("A.C", "AC"),
    ("", ""), ("答案B", "答案B"), ("1", "1"),
])
def test_choice_answers_normalise_to_sorted_letters(raw, expected):
    assert SINGLE.normalise_answer(raw, 4) == expected
    assert MULTIPLE.normalise_answer(raw, 4) == expected


@pytest.mark.parametrize("raw, expected", [
    ("对", "T"), ("错", "F"), ("正确", "T"), ("错误", "F"), ("√", "T"), ("×", "F"), ("✓", "T"), ("✗", "F"),
    ("T", "T"), ("F", "F"), ("true", "T"), ("FALSE", "F"), ("是", "T"), ("否", "F"), ("Y", "T"), ("N", "F"),
    (" 正确。", "T"), ("Ｔ", "T"), ("也许", "也许"), ("", ""),
])
def test_truefalse_answers_normalise_to_t_or_f(raw, expected):
    assert TF.normalise_answer(raw, 0) == expected


@pytest.mark.parametrize("qtype, options, answer, fragment", [
    (SINGLE, FOUR, "B", None),
    (SINGLE, FOUR, "AB", "只能有一个答案"),
    (SINGLE, FOUR, "E", "答案 E 没有对应的选项"),
    (SINGLE, FOUR, "", "缺少答案"),
    (SINGLE, ["唯一"], "A", "至少需要两个选项"),
    (SINGLE, ["甲", "", "丙"], "A", "选项 B 为空"),
    (SINGLE, FOUR, "答案B", "无法识别的答案"),
    (SINGLE, [str(i) for i in range(9)], "A", "选项最多 8 个"),
    (MULTIPLE, FOUR, "ACD", None),
    (MULTIPLE, FOUR, "C", "至少要有两个正确答案"),
    (MULTIPLE, FOUR, "ACF", "答案 F 没有对应的选项"),
    (TF, [], "T", None),
    (TF, [], "F", None),
    (TF, ["对", "错"], "T", "判断题不应有选项"),
    (TF, [], "maybe", "判断题答案应为"),
    (TF, [], "", "缺少答案"),
])
def test_validate(qtype, options, answer, fragment):
    errors = qtype.validate(options, answer)
    if fragment is None:
        assert errors == []
    else:
        assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize("qtype, key, response, partial, expected", [
    (SINGLE, "B", "B", False, 2.0),
    (SINGLE, "B", "b", True, 2.0),
    (SINGLE, "B", "C", False, 0.0),
    (SINGLE, "B", "BC", True, 0.0),
    (SINGLE, "B", "", False, 0.0),
    (TF, "T", "T", False, 2.0),
    (TF, "T", "对", False, 2.0),
    (TF, "F", "正确", False, 0.0),
    (TF, "F", "", True, 0.0),
    # all or nothing
    (MULTIPLE, "ACD", "ACD", False, 2.0),
    (MULTIPLE, "ACD", "DCA", False, 2.0),
    (MULTIPLE, "ACD", "AC", False, 0.0),
    (MULTIPLE, "ACD", "ABCD", False, 0.0),
    # partial: points × (right picks − wrong picks) / number of right options, floored at 0
    (MULTIPLE, "ACD", "ACD", True, 2.0),
    (MULTIPLE, "ACD", "AC", True, 2.0 * 2 / 3),
    (MULTIPLE, "ACD", "A", True, 2.0 / 3),
    (MULTIPLE, "ACD", "ABC", True, 2.0 / 3),
    (MULTIPLE, "ACD", "ABCD", True, 2.0 * 2 / 3),
    (MULTIPLE, "ACD", "AB", True, 0.0),
    (MULTIPLE, "ACD", "B", True, 0.0),
    (MULTIPLE, "AB", "ABCDEFGH", True, 0.0),
    (MULTIPLE, "ACD", "", True, 0.0),
    (MULTIPLE, "", "A", True, 0.0),
])
def test_grade(qtype, key, response, partial, expected):
    assert qtype.grade(key, response, points=2, partial=partial) == pytest.approx(expected)


def test_partial_rule_is_documented_in_the_docstring():
    assert "floored at 0" in MULTIPLE.grade.__doc__


@pytest.mark.parametrize("label, code", [
    ("单选", "single"), ("单选题", "single"), ("单项选择题", "single"), ("单项选择", "single"), (" 单选题：", "single"),
    ("【单选题】", "single"), ("多选", "multiple"), ("多选题", "multiple"), ("多项选择题", "multiple"),
    ("不定项", "multiple"), ("不定项选择题", "multiple"), ("判断", "truefalse"), ("判断题", "truefalse"),
    ("是非", "truefalse"), ("是非题", "truefalse"), ("对错", "truefalse"), ("single", "single"),
    ("Single Choice", "single"), ("multiple", "multiple"), ("multiple-choice", "multiple"),
    ("truefalse", "truefalse"), ("TF", "truefalse"), ("true/false", "truefalse"),
    ("填空题", None), ("选择题", None), ("", None), ("essay", None), ("singles", None),
])
def test_type_from_label(label, code):
    assert type_from_label(label) == code
