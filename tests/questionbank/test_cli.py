"""`flask questionbank import|export|load-shipped` through Flask's CLI runner, against the test database."""

import io
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from trainapp.audit import AuditEvent
from trainapp.questionbank import service
from trainapp.questionbank.formats import parse
from trainapp.questionbank.models import Question, QuestionBank

TESTDATA = Path("/work/shared/testdata/question_formats")
needs_testdata = pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared test data not mounted")

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "标签", "出处"]
ROWS = [
    ["单选题", "发现火灾时，应立即拨打的火警电话是（ ）。", "110", "119", "120", "122", "B", "火警电话为 119。", "易",
     "消防、应急处置", "《中华人民共和国消防法》"],
    ["多选题", "下列属于特种作业的有（ ）。", "电工作业", "焊接与热切割作业", "高处作业", "仓库保管", "ABC",
     "依据《特种作业人员安全技术培训考核管理规定》。", "难", "特种作业", "应急管理部令"],
    ["判断题", "从业人员有权拒绝违章指挥和强令冒险作业。", None, None, None, None, "正确", "见《安全生产法》。", "中",
     "从业人员权利", "《中华人民共和国安全生产法》"],
]
BAD_ROW = ["单选题", "动火作业前必须？", "办理审批", "口头告知", None, None, "E", "", "", "", ""]


def xlsx(path: Path, *rows) -> Path:
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=["questionbank", *map(str, args)])

    return invoke


def counts(db) -> tuple[int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (QuestionBank, Question, AuditEvent))


def bank_stems(db, name) -> list[str]:
    bank = service.find_bank(name)
    assert bank is not None, name
    return list(db.session.scalars(select(Question.stem).where(Question.bank_id == bank.id).order_by(Question.id)))


# --- import -----------------------------------------------------------------------------------

def test_import_xlsx_creates_the_bank_and_its_questions(cli, db, tmp_path):
    path = xlsx(tmp_path / "消防题库.xlsx", *ROWS)
    res = cli("import", path)
    assert res.exit_code == 0, res.output + res.stderr
    assert "Imported 3 question(s)" in res.output
    bank = service.find_bank("消防题库")  # named after the file
    assert bank is not None and bank.owner_id is None
    assert bank_stems(db, "消防题库") == [r[1] for r in ROWS]
    multiple = db.session.scalar(select(Question).where(Question.qtype == "multiple"))
    assert (multiple.options, multiple.answer, multiple.difficulty, multiple.tag_list, multiple.source) == (
        ["电工作业", "焊接与热切割作业", "高处作业", "仓库保管"], "ABC", 3, ["特种作业"], "应急管理部令")
    tf = db.session.scalar(select(Question).where(Question.qtype == "truefalse"))
    assert (tf.options, tf.answer, tf.difficulty) == ([], "T", 2)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert event.entity_id == bank.id and event.details["questions"] == 3


def test_import_into_a_named_bank_with_an_owner(cli, db, world, tmp_path):
    res = cli("import", xlsx(tmp_path / "b.xlsx", *ROWS), "--bank", "培训师题库", "--owner", "trainer")
    assert res.exit_code == 0, res.output + res.stderr
    assert service.find_bank("培训师题库").owner_id == world.users["trainer"].id
    assert service.find_bank("b") is None


def test_import_with_an_unknown_owner_writes_nothing(cli, db, tmp_path):
    before = counts(db)
    res = cli("import", xlsx(tmp_path / "b.xlsx", *ROWS), "--owner", "nobody")
    assert res.exit_code == 2 and "nobody" in res.stderr
    assert counts(db) == before


def test_import_of_a_file_with_errors_exits_1_names_the_row_and_writes_nothing(cli, db, tmp_path):
    cli("import", xlsx(tmp_path / "已有.xlsx", ROWS[0]))
    before = counts(db)
    assert before == (1, 1, 1)
    for bank_args in ((), ("--bank", "已有")):  # a new bank, and an existing one
        res = cli("import", xlsx(tmp_path / "坏文件.xlsx", ROWS[1], BAD_ROW, ROWS[2]), *bank_args,
                  "--skip-unsupported", "--include-duplicates")
        assert res.exit_code == 1
        assert "第 3 行" in res.stderr and "[error]" in res.stderr
        assert "答案 E 没有对应的选项" in res.stderr  # the parser's message, in Chinese
        assert "nothing was written" in res.stderr
        assert "Imported" not in res.output
        assert counts(db) == before
    assert service.find_bank("坏文件") is None


def test_dry_run_writes_nothing(cli, db, tmp_path):
    path = xlsx(tmp_path / "b.xlsx", *ROWS)
    before = counts(db)
    res = cli("import", path, "--dry-run")
    assert res.exit_code == 0, res.output + res.stderr
    assert "3 question(s) read: 3 to import" in res.output and "Dry run: nothing was written." in res.output
    assert counts(db) == before and service.find_bank("b") is None
    # Into an existing bank too: the duplicates are counted, nothing is added.
    cli("import", path)
    before = counts(db)
    res = cli("import", path, "--dry-run", "--include-duplicates")
    assert res.exit_code == 0 and "3 to import" in res.output
    assert counts(db) == before


def test_reimporting_the_same_file_imports_nothing(cli, db, tmp_path):
    path = xlsx(tmp_path / "b.xlsx", *ROWS)
    assert cli("import", path).exit_code == 0
    before = counts(db)
    res = cli("import", path)
    assert res.exit_code == 0, res.output + res.stderr
    assert "3 duplicate(s) skipped" in res.output and "Imported 0 question(s)" in res.output
    assert counts(db)[:2] == before[:2]
    # A file with one new row adds only that row; --include-duplicates adds everything again.
    extra = ["判断题", "有限空间作业可以先进入再检测。", None, None, None, None, "错误", "", "", "", ""]
    res = cli("import", xlsx(tmp_path / "more.xlsx", *ROWS, extra), "--bank", "b")
    assert "Imported 1 question(s)" in res.output
    res = cli("import", path, "--include-duplicates")
    assert "Imported 3 question(s)" in res.output
    assert len(bank_stems(db, "b")) == 7


@needs_testdata
@pytest.mark.parametrize("relative, imported", [
    ("moodle_gift/questions.gift.txt", 3),  # 5 read, two stems repeated in the file
    ("moodle_xml/nested_categories_with_questions.xml", 4),
])
def test_moodle_files_with_unsupported_types_need_skip_unsupported(cli, db, tmp_path, relative, imported):
    path = TESTDATA / relative
    before = counts(db)
    res = cli("import", path, "--bank", "Moodle")
    assert res.exit_code == 1
    assert "[unsupported]" in res.stderr and "暂不支持的题型" in res.stderr and "--skip-unsupported" in res.stderr
    assert counts(db) == before and service.find_bank("Moodle") is None
    res = cli("import", path, "--bank", "Moodle", "--skip-unsupported")
    assert res.exit_code == 0, res.output + res.stderr
    assert f"Imported {imported} question(s)" in res.output
    assert len(bank_stems(db, "Moodle")) == imported
    plan = service.plan_import(parse(path.read_bytes(), path.name), None)
    expected = [x.question.stem for x in plan.items if not x.duplicate]
    assert bank_stems(db, "Moodle") == expected


@needs_testdata
def test_a_moodle_xml_file_with_an_error_is_refused_even_with_skip_unsupported(cli, db):
    res = cli("import", TESTDATA / "moodle_xml" / "error_invalid_grades.xml", "--skip-unsupported")
    assert res.exit_code == 1 and "[error]" in res.stderr and "33%" in res.stderr
    assert counts(db) == (0, 0, 0)


def test_import_json_uses_the_bank_name_in_the_file(cli, db, tmp_path):
    path = tmp_path / "x.json"
    cli("import", xlsx(tmp_path / "源.xlsx", *ROWS))
    assert cli("export", "源", "--format", "json", "--output", path).exit_code == 0
    data = json.loads(path.read_text("utf-8"))
    data["bank"]["name"] = "来自 JSON 的题库"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    res = cli("import", path)
    assert res.exit_code == 0, res.output + res.stderr
    assert bank_stems(db, "来自 JSON 的题库") == [r[1] for r in ROWS]


# --- export -----------------------------------------------------------------------------------

FIELDS = {
    "json": ("qtype", "stem", "options", "answer", "explanation", "source", "difficulty", "tags"),
    "xlsx": ("qtype", "stem", "options", "answer", "explanation", "source", "difficulty", "tags"),
    "csv": ("qtype", "stem", "options", "answer", "explanation", "source", "difficulty", "tags"),
    "gift": ("qtype", "stem", "options", "answer", "explanation", "tags"),
    "moodlexml": ("qtype", "stem", "options", "answer", "explanation", "tags"),
    "aiken": ("qtype", "stem", "options", "answer"),
    "docx": ("qtype", "stem", "options", "answer", "explanation", "source", "difficulty", "tags"),
}


@pytest.mark.parametrize("fmt", sorted(FIELDS))
def test_export_writes_a_file_that_parses_back_to_the_same_questions(cli, db, tmp_path, fmt):
    source = xlsx(tmp_path / "消防.xlsx", *ROWS)
    assert cli("import", source).exit_code == 0
    out = tmp_path / f"out.{fmt}"
    res = cli("export", "消防", "--format", fmt, "--output", out)
    assert res.exit_code == 0, res.output + res.stderr
    back = parse(out.read_bytes(), out.name)
    original = parse(source.read_bytes(), source.name)
    assert back.ok and original.ok and len(original.questions) == 3

    def rows(questions):
        return [{f: getattr(x, f) for f in FIELDS[fmt]} for x in questions]

    assert rows(back.questions) == rows(original.questions)


def test_export_by_number_and_of_a_missing_bank(cli, db, tmp_path):
    cli("import", xlsx(tmp_path / "消防.xlsx", *ROWS))
    bank = service.find_bank("消防")
    out = tmp_path / "out.json"
    assert cli("export", bank.id, "--format", "json", "--output", out).exit_code == 0
    assert len(parse(out.read_bytes(), "out.json").questions) == 3
    res = cli("export", "没有这个题库", "--format", "json", "--output", tmp_path / "none.json")
    assert res.exit_code == 1 and "No bank named" in res.stderr
    assert not (tmp_path / "none.json").exists()


def test_export_leaves_retired_questions_out_unless_asked(cli, db, tmp_path):
    cli("import", xlsx(tmp_path / "消防.xlsx", *ROWS))
    db.session.scalar(select(Question).where(Question.qtype == "multiple")).status = "retired"
    db.session.commit()
    out = tmp_path / "out.json"
    cli("export", "消防", "--format", "json", "--output", out)
    assert [x.qtype for x in parse(out.read_bytes(), "out.json").questions] == ["single", "truefalse"]
    cli("export", "消防", "--format", "json", "--output", out, "--include-retired")
    assert [x.qtype for x in parse(out.read_bytes(), "out.json").questions] == ["single", "multiple", "truefalse"]


# --- load-shipped -----------------------------------------------------------------------------

def test_load_shipped_twice_is_idempotent(cli, db):
    res = cli("load-shipped")
    assert res.exit_code == 0, res.output + res.stderr
    assert "15 created; questions +620 added, 0 updated, 0 retired, 0 unchanged" in res.output
    first = counts(db)[:2]
    assert first == (15, 620)
    snapshot = sorted(db.session.execute(select(Question.id, Question.stem, Question.version, Question.status)).all())
    res = cli("load-shipped")
    assert res.exit_code == 0, res.output + res.stderr
    assert "0 created; questions +0 added, 0 updated, 0 retired, 620 unchanged" in res.output
    assert counts(db)[:2] == first
    assert sorted(db.session.execute(
        select(Question.id, Question.stem, Question.version, Question.status)).all()) == snapshot


def test_load_shipped_from_a_directory_with_a_broken_file_writes_nothing(cli, db, tmp_path):
    (tmp_path / "a_good.json").write_bytes((service.shipped_directory() / "hazard_mining.json").read_bytes())
    (tmp_path / "b_broken.json").write_text('{"format": "trainapp-questionbank", "version": 1, "questions": [', "utf-8")
    res = cli("load-shipped", "--directory", tmp_path)
    assert res.exit_code == 1 and "b_broken.json" in res.stderr
    assert counts(db) == (0, 0, 0)


def test_default_bank_name_keeps_dots_and_drops_compound_extensions():
    from trainapp.questionbank.service import name_from_filename

    assert name_from_filename("消防题库v1.2.xlsx") == "消防题库v1.2"
    assert name_from_filename("quiz.gift.txt") == "quiz"
    assert name_from_filename("noext") == "noext"


def test_import_into_an_archived_bank_is_refused(cli, db, tmp_path):
    bank = service.new_bank("停用的题库", None)
    bank.status = "archived"
    db.session.commit()
    result = cli("import", xlsx(tmp_path / "b.xlsx", *ROWS), "--bank", "停用的题库")
    assert result.exit_code == 1 and "archived" in result.output
    assert counts(db)[1] == 0
