"""The shipped starter courses load, cite at document level, and their exams can be drawn from the shipped banks."""
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from trainapp.courses import markup
from trainapp.courses.content import TYPES, load_all

ROOT = Path(__file__).resolve().parents[1]
BANK_DIR = ROOT / "question_banks"
CODES = {"work_safety_law", "shanghai_regulation", "fifteen_measures", "hazard_standards"}
AUDIENCES = {"leader", "committee", "regulator", "park_staff", "principal", "safety_manager", "special_worker", "staff"}
ARTICLE = re.compile(r"第[0-9一二三四五六七八九十百零]+条")
CJK = re.compile(r"[\u4e00-\u9fff]")

COURSES = load_all()
LESSONS = [(course, lesson) for course in COURSES for lesson in course.lessons]


def _bank_counts(key: str) -> Counter:
    data = json.loads((BANK_DIR / f"{key}.json").read_text("utf-8"))
    return Counter(q["type"] for q in data["questions"])


def test_exactly_the_four_courses():
    assert {c.code for c in COURSES} == CODES
    assert len(COURSES) == len(CODES)


def test_hazard_standards_has_one_lesson_per_standard():
    hazard = next(c for c in COURSES if c.code == "hazard_standards")
    assert len(hazard.lessons) == 9


@pytest.mark.parametrize("course", COURSES, ids=lambda c: c.code)
def test_course_metadata(course):
    assert course.title.strip() and course.description.strip()
    assert course.audiences and set(course.audiences) <= AUDIENCES
    assert isinstance(course.sectors, list)
    assert course.idle_minutes == 5
    assert 1 <= course.hours <= 12, f"{course.code}: {course.hours} 学时"
    assert all(lesson.hours > 0 for lesson in course.lessons)
    exam = course.exam
    assert exam["title"].strip() and exam["pass_percent"] == 60 and exam["time_limit_minutes"] > 0
    assert exam["subject"] == "other" or (BANK_DIR / f"{exam['subject']}.json").exists()


@pytest.mark.parametrize("course", COURSES, ids=lambda c: c.code)
def test_exam_parts_can_be_filled_from_the_banks(course):
    needed = Counter()
    for qtype, key, count in course.exam["parts"]:
        assert qtype in TYPES
        assert (BANK_DIR / f"{key}.json").exists(), f"{course.code}: no bank {key}"
        needed[(key, qtype)] += count
    for (key, qtype), count in needed.items():
        have = _bank_counts(key)[qtype]
        assert have >= count, f"{course.code}: {key} has {have} {qtype}, the exam asks {count}"
    assert sum(needed.values()) >= 10


@pytest.mark.parametrize("course,lesson", LESSONS, ids=lambda x: getattr(x, "filename", getattr(x, "code", "")))
def test_lesson_text(course, lesson):
    where = f"{course.code}/{lesson.filename}"
    assert lesson.title.strip() and lesson.source.strip(), where
    assert lesson.hours > 0 and lesson.min_minutes > 0, where
    assert not ARTICLE.search(lesson.source), f"{where}: source cites an article"
    assert not ARTICLE.search(lesson.body), f"{where}: body cites an article"
    assert not ARTICLE.search(lesson.title), f"{where}: title cites an article"
    assert "<" not in lesson.body, f"{where}: no HTML in lessons"
    assert "http" not in lesson.body.lower(), f"{where}: no links in lessons"
    assert "](" not in lesson.body, f"{where}: no Markdown links or images"
    assert "要点回顾" in lesson.body, f"{where}: ends with a 要点回顾 list"
    assert "**" not in markup.render(lesson.body), f"{where}: emphasis that Markdown does not render"
    assert 400 <= len(CJK.findall(lesson.body)) <= 1200, where
