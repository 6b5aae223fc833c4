"""Third-party fixtures in /work/shared/testdata/question_formats: Moodle and the GIFT PEG.js goldens."""

import json
import re
from pathlib import Path

import pytest

from trainapp.questionbank.formats import INTERNAL_ERROR, parse
from trainapp.questionbank.formats.common import html_to_text

TESTDATA = Path("/work/shared/testdata/question_formats")
GOLDEN = TESTDATA / "gift_grammar_pegjs"
ALL_FILES = sorted(p for p in TESTDATA.rglob("*") if p.is_file())
GIFT_FILES = sorted(GOLDEN.glob("*.gift"))

pytestmark = pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared test data not mounted")


def _by_ref(result):
    return {p.ref: p for p in result.problems}


def _line(ref: str) -> int:
    return int(re.match(r"第 (\d+) 行", ref).group(1))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(TESTDATA)))
def test_every_file_parses_without_an_exception_escaping(path):
    result = parse(path.read_bytes(), path.name)
    assert all(INTERNAL_ERROR not in p.message for p in result.problems)
    assert result.questions or result.problems


def test_the_tree_holds_what_the_other_tests_expect():
    assert len(GIFT_FILES) == 51
    assert {p.name for p in (TESTDATA / "moodle_xml").iterdir()} >= {"error_invalid_grades.xml"}


# --- GIFT goldens ---------------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(text.split())


def _golden_text(node) -> str:
    text = node["text"]
    return _norm(html_to_text(text)[0] if node["format"] == "html" else text)


def _golden_correct(choices) -> set[int]:
    """Fully right choices (= or 100%); without any, every choice with a positive weight."""
    full = {i for i, c in enumerate(choices) if c["isCorrect"] or (c["weight"] or 0) >= 100}
    return full or {i for i, c in enumerate(choices) if (c["weight"] or 0) > 0}


@pytest.mark.parametrize("path", GIFT_FILES, ids=lambda p: p.stem)
def test_gift_matches_the_independent_parser(path):
    golden = [q for q in json.loads(path.with_suffix(".json").read_text("utf-8")) if q["type"] != "Category"]
    result = parse(path.read_bytes(), path.name, fmt="gift")
    # Put our questions and our "unsupported" reports back in file order, like the golden list.
    ours = sorted([(_line(q.ref), "q", q) for q in result.questions]
                  + [(_line(p.ref), "u", p) for p in result.problems if p.kind == "unsupported"],
                  key=lambda item: item[0])
    assert len(ours) == len(golden), (result.questions, result.problems)
    if golden:
        assert not result.errors
    else:  # a file holding only a $CATEGORY line has no questions to import
        assert [p.ref for p in result.errors] == ["文件"]
    for expected, (_line_no, kind, item) in zip(golden, ours):
        if expected["type"] == "MC":
            assert kind == "q", (expected, item)
            assert _norm(item.stem) == _golden_text(expected["stem"])
            assert [_norm(o) for o in item.options] == [_golden_text(c["text"]) for c in expected["choices"]]
            correct = _golden_correct(expected["choices"])
            assert item.answer == "".join("ABCDEFGH"[i] for i in sorted(correct))
            assert item.qtype == ("single" if len(correct) == 1 else "multiple")
            if expected["globalFeedback"]:
                assert _norm(item.explanation) == _golden_text(expected["globalFeedback"])
        elif expected["type"] == "TF":
            assert kind == "q", (expected, item)
            assert item.qtype == "truefalse" and item.options == []
            assert _norm(item.stem) == _golden_text(expected["stem"])
            assert item.answer == ("T" if expected["isTrue"] else "F")
        else:
            assert kind == "u", (expected, item)
            assert item.kind == "unsupported"


def test_gift_tags_come_from_moodle_tag_comments():
    data = "// [tag:消防] [tag:应急]\n::t::灭火器压力表指针在绿区表示正常。{T}\n".encode()
    assert parse(data, "x.gift").questions[0].tags == ["消防", "应急"]


def test_gift_category_keeps_its_path_without_the_moodle_prefix():
    data = (GOLDEN / "categorySpecialCharacter.gift").read_bytes() + "\n\n判断：动火作业须办理审批。{T}\n".encode()
    assert parse(data, "c.gift").questions[0].category == "Default for Unit 1: Topic"


def test_gift_missing_word_question_keeps_the_gap():
    result = parse((GOLDEN / "mc2.gift").read_bytes(), "mc2.gift")
    assert result.questions[0].stem == "Grant is _____ in Grant's tomb."


# --- Moodle GIFT fixtures ---------------------------------------------------------------------

def test_moodle_gift_questions():
    result = parse((TESTDATA / "moodle_gift/questions.gift.txt").read_bytes(), "questions.gift.txt")
    assert [q.qtype for q in result.questions] == ["single", "multiple", "truefalse", "truefalse", "truefalse"]
    q2, colours, q1 = result.questions[:3]
    assert q2.stem == "What's between orange and green in the spectrum?"
    assert (q2.options, q2.answer) == (["yellow", "red", "blue"], "A")
    assert (colours.options, colours.answer) == (["yellow", "red", "off-beige", "blue"], "AC")
    assert q1.answer == "F" and q1.explanation == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    unsupported = [p.message for p in result.unsupported]
    assert len(unsupported) == 4
    for name in ("essay", "matching", "numerical", "short answer"):
        assert any(name in m for m in unsupported), name
    assert not result.ok


def test_moodle_gift_in_category():
    result = parse((TESTDATA / "moodle_gift/questions_in_category.gift.txt").read_bytes(), "c.gift.txt")
    greeting, acronym = result.questions
    assert {greeting.category, acronym.category} == {"Default for New Features"}
    assert greeting.stem.endswith("What language is being spoken?") and greeting.answer == "B"
    assert acronym.stem == "Moodle is an acronym for Modular Object-Oriented Dynamic Learning Environment."
    assert acronym.answer == "T"


# --- Aiken ----------------------------------------------------------------------------------

def test_moodle_aiken_questions():
    result = parse((TESTDATA / "moodle_aiken/questions.aiken.txt").read_bytes(), "questions.aiken.txt")
    assert result.ok and len(result.questions) == 2
    first, second = result.questions
    assert first.stem == "The Moodle project was started by:"
    assert first.options == ["Petr Skoda", "Martin Dougiamas", "Eloy Lafuente", "Tim Hunt"]
    assert (first.qtype, first.answer, first.ref) == ("single", "B", "第 1 行")
    # True/False options become a true/false question; the markup stays as plain text.
    assert second.stem == "Moodle's abilities include handling user input that includes <html class=\"cool\"> & images:"
    assert (second.qtype, second.answer) == ("truefalse", "T")


def test_moodle_aiken_errors_are_reported_by_line():
    result = parse((TESTDATA / "moodle_aiken/aiken_errors.txt").read_bytes(), "aiken_errors.txt")
    assert not result.ok
    errors = {p.ref: p.message for p in result.errors}
    assert set(errors) == {"第 1 行", "第 5 行", "第 14 行"}
    assert "两个选项" in errors["第 1 行"]
    assert "选项前面没有题干" in errors["第 5 行"]
    assert "ANSWER" in errors["第 14 行"]
    good = [(q.stem, q.options, q.answer) for q in result.questions]
    assert good == [("A good question", ["Correct", "Incorrect"], "A"),
                    ("A second good question", ["Incorrect (No space)", "Correct (No space)"], "B")]


# --- Moodle XML -----------------------------------------------------------------------------

def test_moodle_xml_nested_categories():
    result = parse((TESTDATA / "moodle_xml/nested_categories_with_questions.xml").read_bytes(), "n.xml")
    assert [(q.stem, q.category, q.answer) for q in result.questions] == [
        ("Testing Iota Question", "Iota", "T"), ("Testing Kappa Question", "Iota/Kappa", "T"),
        ("Testing Lambda Question", "Iota/Kappa/Lambda", "T"), ("Testing Mu Question", "Iota/Mu", "T")]
    assert [p.ref for p in result.unsupported] == ["第 2 题「Kappa Essay Question」"]
    assert "essay" in result.unsupported[0].message


def test_moodle_xml_html_chars_in_idnumbers():
    result = parse((TESTDATA / "moodle_xml/html_chars_in_idnumbers.xml").read_bytes(), "h.xml")
    assert result.ok
    assert [(q.qtype, q.stem, q.answer, q.category) for q in result.questions] == [
        ("truefalse", "Testing Alpha Question", "T", "Alpha")]


def test_moodle_xml_old_image_tag():
    result = parse((TESTDATA / "moodle_xml/sample_questions_with_old_image_tag.xml").read_bytes(), "s.xml")
    (mcq,) = result.questions
    assert mcq.stem.startswith('This is a multichoice question with an image in the old "image" field')
    assert mcq.options == ["wrong answer", "another wrong answer", "right answer"]
    assert (mcq.answer, mcq.qtype) == ("C", "single")
    assert any("cloze" in p.message for p in result.unsupported)
    assert any("图片" in p.message for p in result.warnings)


def test_moodle_xml_invalid_grades_is_a_clear_error():
    result = parse((TESTDATA / "moodle_xml/error_invalid_grades.xml").read_bytes(), "e.xml")
    assert not result.ok and result.questions == []
    (error,) = result.errors
    assert "33%" in error.message and "分值" in error.message and error.ref.startswith("第 1 题")


def test_html_to_text_is_sensible():
    text, images = html_to_text('<p>第一段&amp;<b>粗</b></p><p>第二段<br>换行<img src="x.png"></p><script>alert(1)</script>')
    assert text == "第一段&粗\n\n第二段\n换行[图片]" and images == 1
