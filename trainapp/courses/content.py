"""The starter courses shipped in trainapp/courses/content/: one folder per course.

    <code>/course.json      {"code", "title", "description", "audiences", "sectors", "idle_minutes",
                             "exam": {"title", "subject", "parts": [[type, bank shipped_key, count], …],
                                      "time_limit_minutes", "pass_percent"}}
    <code>/NN-<slug>.md     one lesson each, in file-name order:

        title: 安全生产法的立法目的
        hours: 0.5
        min_minutes: 10
        source: 《中华人民共和国安全生产法》（2021年修正）
        ---
        Markdown body …

Front matter is `key: value` lines up to a line of three dashes. `load_all()` raises ContentError
naming the file and the problem.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent / "content"
TYPES = ("single", "multiple", "truefalse")
_LESSON_KEYS = {"title", "hours", "min_minutes", "source"}
_LESSON_FILE = re.compile(r"^\d{2}-[a-z0-9-]+\.md$")


class ContentError(ValueError):
    pass


@dataclass
class LessonSpec:
    filename: str
    title: str
    hours: float
    min_minutes: int
    source: str
    body: str


@dataclass
class CourseSpec:
    code: str
    title: str
    description: str
    audiences: list[str]
    sectors: list[str]
    idle_minutes: int
    exam: dict
    lessons: list[LessonSpec] = field(default_factory=list)

    @property
    def hours(self) -> float:
        return round(sum(lesson.hours for lesson in self.lessons), 2)


def parse_lesson(path: Path) -> LessonSpec:
    text = path.read_text("utf-8")
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise ContentError(f"{path.name}: front matter must end with a line '---'")
    meta = {}
    for number, line in enumerate(head.splitlines(), 1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or key.strip() not in _LESSON_KEYS:
            raise ContentError(f"{path.name}:{number}: expected one of {sorted(_LESSON_KEYS)} as 'key: value'")
        meta[key.strip()] = value.strip()
    missing = _LESSON_KEYS - set(meta)
    if missing:
        raise ContentError(f"{path.name}: missing {sorted(missing)}")
    try:
        hours, minutes = float(meta["hours"]), int(meta["min_minutes"])
    except ValueError:
        raise ContentError(f"{path.name}: hours must be a number and min_minutes an integer") from None
    if not 0 < hours <= 8 or not 0 < minutes <= 480:
        raise ContentError(f"{path.name}: hours must be in (0, 8] and min_minutes in (0, 480]")
    if not body.strip():
        raise ContentError(f"{path.name}: the lesson has no text")
    return LessonSpec(path.name, meta["title"], hours, minutes, meta["source"], body.strip() + "\n")


def parse_course(folder: Path) -> CourseSpec:
    try:
        data = json.loads((folder / "course.json").read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ContentError(f"{folder.name}/course.json: {exc}") from None
    for key in ("code", "title", "description", "audiences", "sectors", "exam"):
        if key not in data:
            raise ContentError(f"{folder.name}/course.json: missing {key}")
    if data["code"] != folder.name:
        raise ContentError(f"{folder.name}/course.json: code must be the folder name")
    exam = data["exam"]
    for key in ("title", "subject", "parts", "time_limit_minutes", "pass_percent"):
        if key not in exam:
            raise ContentError(f"{folder.name}/course.json: exam.{key} is missing")
    for part in exam["parts"]:
        if not (isinstance(part, list) and len(part) == 3 and part[0] in TYPES and isinstance(part[2], int)
                and part[2] > 0):
            raise ContentError(f"{folder.name}/course.json: exam part {part!r} should be [type, bank, count]")
    lessons = [parse_lesson(p) for p in sorted(folder.glob("*.md"))]
    bad = [p.name for p in folder.glob("*.md") if not _LESSON_FILE.match(p.name)]
    if bad:
        raise ContentError(f"{folder.name}: lesson files must be named NN-slug.md: {bad}")
    if not lessons:
        raise ContentError(f"{folder.name}: no lessons")
    return CourseSpec(data["code"], data["title"], data["description"], list(data["audiences"]),
                      list(data["sectors"]), int(data.get("idle_minutes", 5)), exam, lessons)


def load_all(directory: Path = CONTENT_DIR) -> list[CourseSpec]:
    return [parse_course(folder) for folder in sorted(directory.iterdir()) if (folder / "course.json").exists()]
