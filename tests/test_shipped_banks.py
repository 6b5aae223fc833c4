"""Every shipped question bank is well-formed, cites at document level, and the total is ≥ 500."""
import json
import re
from pathlib import Path

import pytest

BANKS = sorted((Path(__file__).resolve().parents[1] / "question_banks").glob("*.json"))
AUDIENCES = {"leader", "committee", "regulator", "park_staff", "principal", "safety_manager", "special_worker", "staff"}
ARTICLE = re.compile(r"第[0-9一二三四五六七八九十百零]+条")


def test_at_least_500_questions_in_all():
    assert sum(len(json.loads(p.read_text("utf-8"))["questions"]) for p in BANKS) >= 500


@pytest.mark.parametrize("path", BANKS, ids=lambda p: p.stem)
def test_bank_is_well_formed(path):
    data = json.loads(path.read_text("utf-8"))
    assert data["format"] == "trainapp-questionbank" and data["version"] == 1
    assert data["bank"]["subject"] == path.stem and data["bank"]["name"]
    assert set(data["bank"]["audiences"]) <= AUDIENCES
    stems = set()
    for n, q in enumerate(data["questions"], 1):
        where = f"{path.name} #{n}"
        assert q["stem"].strip() and q["stem"].strip() not in stems, where
        stems.add(q["stem"].strip())
        assert q["explanation"].strip() and q["source"].strip(), where
        assert not ARTICLE.search(q["source"]), f"{where}: cite the document, not an article"
        assert q["difficulty"] in (1, 2, 3), where
        if q["type"] == "truefalse":
            assert q["options"] == [] and q["answer"] in ("T", "F"), where
            continue
        letters = "ABCDEFGH"[: len(q["options"])]
        assert 2 <= len(q["options"]) <= 8 and len(set(q["options"])) == len(q["options"]), where
        assert set(q["answer"]) <= set(letters) and list(q["answer"]) == sorted(set(q["answer"])), where
        assert (len(q["answer"]) == 1) == (q["type"] == "single"), where
        assert q["type"] in ("single", "multiple"), where
