"""questionbank.service against a real database: import planning, versions, export, shipped banks, access."""

import json
import shutil

import pytest
from sqlalchemy import func, select

from tests import factories
from trainapp.auth.models import RoleGrant
from trainapp.org.seed import seed_sectors
from trainapp.questionbank import service
from trainapp.questionbank.formats import EXPORT_FORMATS, ParsedQuestion, ParseResult, Problem, parse
from trainapp.questionbank.models import Question, QuestionBank, QuestionVersion, freeze, is_frozen, update_question

SHIPPED_COUNT, SHIPPED_QUESTIONS = 15, 620


def q(stem, qtype="single", options=None, answer=None, **kw) -> ParsedQuestion:
    if options is None:
        options = [] if qtype == "truefalse" else ["甲", "乙", "丙", "丁"]
    if answer is None:
        answer = {"single": "B", "multiple": "ACD", "truefalse": "T"}[qtype]
    return ParsedQuestion(qtype, stem, options, answer, **kw)


def result(*questions, problems=()) -> ParseResult:
    return ParseResult(list(questions), list(problems))


def make_bank(db, name="测试题库", owner_id=None, questions=()) -> QuestionBank:
    bank = service.new_bank(name, owner_id)
    if questions:
        service.commit_import(service.plan_import(result(*questions), bank), bank)
    db.session.commit()
    return bank


def count(db, model=Question, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def stems(db, bank) -> list[str]:
    return list(db.session.scalars(select(Question.stem).where(Question.bank_id == bank.id).order_by(Question.id)))


# --- plan_import: duplicates ------------------------------------------------------------------

def test_plan_without_a_bank_flags_only_repeats_within_the_file(db):
    plan = service.plan_import(result(q("动火作业前必须办理什么手续？"), q("进入有限空间前应先做什么？"),
                                      q("动火作业前必须办理什么手续？", "truefalse")), None)
    assert [i.duplicate for i in plan.items] == [False, False, True]
    assert (plan.new, plan.duplicates) == (2, 1)


def test_plan_flags_stems_already_in_the_bank(db):
    bank = make_bank(db, questions=[q("发现火灾时，应立即拨打的火警电话是（ ）。")])
    other = make_bank(db, "另一个题库", questions=[q("进入有限空间前应先做什么？")])
    plan = service.plan_import(result(q("发现火灾时，应立即拨打的火警电话是（ ）。"), q("进入有限空间前应先做什么？")),
                               bank)
    # Only the bank imported into counts: the second stem is in another bank, so it is new here.
    assert [i.duplicate for i in plan.items] == [True, False]
    assert service.plan_import(result(q("进入有限空间前应先做什么？")), other).items[0].duplicate


@pytest.mark.parametrize("variant", [
    "发现火灾时,应立即拨打的火警电话是( )。",          # half-width comma and brackets
    "发现火灾时，应立即拨打的火警电话是（）。",          # no space inside the brackets
    "  发现火灾时，  应立即拨打的\u3000火警电话是（ ）。\n",  # extra half- and full-width spaces, newline
])
def test_full_width_half_width_and_spacing_count_as_the_same_stem(db, variant):
    bank = make_bank(db, questions=[q("发现火灾时，应立即拨打的火警电话是（ ）。")])
    assert service.plan_import(result(q(variant)), bank).items[0].duplicate
    # …and within one file, into an empty bank.
    plan = service.plan_import(result(q("发现火灾时，应立即拨打的火警电话是（ ）。"), q(variant)), make_bank(db, "空"))
    assert [i.duplicate for i in plan.items] == [False, True]


def test_full_width_latin_letters_and_digits_match_half_width_ones(db):
    bank = make_bank(db, questions=[q("ＰＭ２．５ 超标时，ＬＥＤ 屏应提示什么？")])
    plan = service.plan_import(result(q("PM2.5超标时,LED屏应提示什么?"), q("PM2.6超标时,LED屏应提示什么?")), bank)
    assert [i.duplicate for i in plan.items] == [True, False]


def test_different_wording_is_not_a_duplicate(db):
    bank = make_bank(db, questions=[q("发现火灾时，应立即拨打的火警电话是（ ）。")])
    plan = service.plan_import(result(q("发现火灾时，应立即拨打的急救电话是（ ）。")), bank)
    assert not plan.items[0].duplicate


# --- commit_import --------------------------------------------------------------------------

def _mixed_plan(bank):
    return service.plan_import(result(
        q("已有的题目"), q("新题一：单选", "single", explanation="解析一", source="来源一", difficulty=2, tags=["消防", "电工"]),
        q("新题二：多选", "multiple"), q("新题三：判断", "truefalse", answer="F"), q("新题一：单选", "truefalse"),
    ), bank)


def test_commit_import_skips_duplicates_by_default(db):
    bank = make_bank(db, questions=[q("已有的题目")])
    plan = _mixed_plan(bank)
    assert service.commit_import(plan, bank) == 3
    db.session.commit()
    assert stems(db, bank) == ["已有的题目", "新题一：单选", "新题二：多选", "新题三：判断"]
    first = db.session.scalar(select(Question).where(Question.stem == "新题一：单选"))
    assert (first.qtype, first.options, first.answer, first.explanation, first.source, first.difficulty) == (
        "single", ["甲", "乙", "丙", "丁"], "B", "解析一", "来源一", 2)
    assert first.tags == ",消防,电工," and first.tag_list == ["消防", "电工"]
    assert (first.version, first.status) == (1, "active")
    tf = db.session.scalar(select(Question).where(Question.stem == "新题三：判断"))
    assert (tf.qtype, tf.options, tf.answer) == ("truefalse", [], "F")


def test_commit_import_with_include_duplicates_inserts_every_question(db):
    bank = make_bank(db, questions=[q("已有的题目")])
    assert service.commit_import(_mixed_plan(bank), bank, include_duplicates=True) == 5
    db.session.commit()
    assert count(db, bank_id=bank.id) == 6
    assert count(db, bank_id=bank.id, stem="已有的题目") == 2


def test_commit_import_of_only_duplicates_inserts_nothing(db):
    bank = make_bank(db, questions=[q("已有的题目")])
    assert service.commit_import(service.plan_import(result(q("已有的题目")), bank), bank) == 0
    db.session.commit()
    assert count(db, bank_id=bank.id) == 1


def test_commit_import_into_a_bank_created_in_the_same_transaction(db):
    bank = service.new_bank("新题库", None)
    plan = service.plan_import(result(q("一"), q("二"), q("一")), bank)
    assert service.commit_import(plan, bank) == 2
    db.session.commit()
    assert stems(db, bank) == ["一", "二"]


# --- blocking ---------------------------------------------------------------------------------

def test_a_file_with_errors_is_blocked_even_when_skipping_unsupported(db):
    plan = service.plan_import(result(q("好的题目"), problems=[Problem("第 3 行", "缺少答案")]), None)
    assert plan.blocked(skip_unsupported=False) and plan.blocked(skip_unsupported=True)


def test_unsupported_types_block_unless_skipped(db):
    plan = service.plan_import(result(q("好的题目"), problems=[Problem("第 5 行", "暂不支持的题型", "unsupported")]), None)
    assert plan.blocked(skip_unsupported=False)
    assert not plan.blocked(skip_unsupported=True)


def test_warnings_do_not_block(db):
    plan = service.plan_import(result(q("好的题目"), problems=[Problem("第 2 行", "题干与第 1 行重复", "warning")]), None)
    assert not plan.blocked(skip_unsupported=False)


def test_a_parsed_file_with_a_bad_row_is_blocked(db):
    data = "题型,题干,选项A,选项B,答案\n单选题,好的题目,甲,乙,A\n单选题,坏的题目,甲,乙,E\n".encode()
    parsed = parse(data, "b.csv")
    assert [p.ref for p in parsed.errors] == ["第 3 行"]
    assert service.plan_import(parsed, None).blocked(skip_unsupported=True)


# --- versions ---------------------------------------------------------------------------------

def _question(db) -> Question:
    bank = make_bank(db, questions=[q("动火作业前必须？", "single", ["办理审批", "口头告知", "无需手续"], "A",
                                      explanation="动火须审批。", source="《动火作业管理规定》", difficulty=1,
                                      tags=["动火"])])
    return db.session.scalar(select(Question).where(Question.bank_id == bank.id))


def test_editing_an_unused_question_keeps_version_1(db):
    question = _question(db)
    assert not update_question(question, stem="动火作业前必须做什么？", answer="B")
    db.session.commit()
    db.session.expire_all()
    assert (question.version, question.stem, question.answer) == (1, "动火作业前必须做什么？", "B")
    assert question.stem_hash == service.stem_hash("动火作业前必须做什么？")
    assert count(db, QuestionVersion) == 0


def test_editing_a_frozen_question_starts_version_2_and_keeps_the_frozen_text(db):
    question = _question(db)
    freeze(question)
    db.session.commit()
    assert is_frozen(question)
    assert update_question(question, stem="动火作业前应当？", options=["口头告知", "办理审批", "无需手续", "看情况"],
                           answer="B", explanation="新的解析。")
    db.session.commit()
    db.session.expire_all()
    assert question.version == 2 and question.stem == "动火作业前应当？" and question.answer == "B"
    assert not is_frozen(question)
    (old,) = db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question.id))
    assert old.version == 1
    assert (old.qtype, old.stem, old.options, old.answer, old.explanation, old.source) == (
        "single", "动火作业前必须？", ["办理审批", "口头告知", "无需手续"], "A", "动火须审批。", "《动火作业管理规定》")
    # The next use freezes version 2 next to version 1.
    new = freeze(question)
    db.session.commit()
    assert (new.version, new.stem, new.answer) == (2, "动火作业前应当？", "B")
    assert count(db, QuestionVersion, question_id=question.id) == 2


def test_a_second_edit_of_the_same_unfrozen_version_does_not_bump_again(db):
    question = _question(db)
    freeze(question)
    assert update_question(question, stem="第一次修改")
    assert not update_question(question, stem="第二次修改")
    db.session.commit()
    assert question.version == 2


@pytest.mark.parametrize("changes", [
    {"difficulty": 3}, {"tags": ["动火", "特殊作业"]}, {"status": "retired"},
    {"difficulty": 2, "tags": [], "status": "retired"},
    {"stem": "动火作业前必须？", "answer": "A"},  # content fields "changed" to what they already are
])
def test_non_content_edits_of_a_frozen_question_do_not_bump(db, changes):
    question = _question(db)
    freeze(question)
    db.session.commit()
    assert not update_question(question, **changes)
    db.session.commit()
    db.session.expire_all()
    assert question.version == 1
    for field, value in changes.items():
        expected = service.join_tags(value) if field == "tags" else value
        assert getattr(question, field) == expected
    assert count(db, QuestionVersion, question_id=question.id) == 1


# --- export -----------------------------------------------------------------------------------

BANK_QUESTIONS = [
    q("发现火灾时，应立即拨打的火警电话是（ ）。", "single", ["110", "119", "120", "122"], "B",
      explanation="火警电话为 119。", source="《中华人民共和国消防法》", difficulty=1, tags=["消防", "应急处置"]),
    q("下列属于特种作业的有（ ）。", "multiple", ["电工作业", "焊接与热切割作业", "高处作业", "仓库保管"], "ABC",
      explanation="依据《特种作业人员安全技术培训考核管理规定》。", source="应急管理部令", difficulty=3, tags=["特种作业"]),
    q("从业人员有权拒绝违章指挥和强令冒险作业。", "truefalse", [], "T",
      explanation="见《安全生产法》从业人员的权利。", source="《中华人民共和国安全生产法》", difficulty=2,
      tags=["从业人员权利"]),
    q("有限空间作业可以先进入再检测。", "truefalse", [], "F", explanation="应先通风、再检测、后作业。",
      source="《工贸企业有限空间作业安全规定》", difficulty=2, tags=["有限空间", "检测"]),
    q("生产经营单位的主要负责人对本单位安全生产工作负有哪些职责？", "multiple",
      ["建立健全全员安全生产责任制", "组织制定安全生产规章制度", "保证安全生产投入", "代替员工参加培训"], "ABC",
      explanation="", source="", difficulty=None, tags=[]),
]
FIELDS = ("qtype", "stem", "options", "answer", "explanation", "source", "difficulty", "tags")
CARRIED = {
    "json": FIELDS, "xlsx": FIELDS, "csv": FIELDS, "docx": FIELDS,
    "gift": ("qtype", "stem", "options", "answer", "explanation", "tags"),
    "moodlexml": ("qtype", "stem", "options", "answer", "explanation", "tags"),
    "aiken": ("qtype", "stem", "options", "answer"),
}
FILENAMES = {"json": "b.json", "xlsx": "b.xlsx", "csv": "b.csv", "docx": "b.docx", "gift": "b.gift",
             "moodlexml": "b.xml", "aiken": "b.txt"}
TYPE_ORDER = {"single": 0, "multiple": 1, "truefalse": 2}


def carried(questions, fmt) -> list[dict]:
    rows = [{f: getattr(x, f) for f in CARRIED[fmt]} for x in questions]
    if fmt == "docx":  # the Word layout groups questions by type
        rows.sort(key=lambda r: TYPE_ORDER[r["qtype"]])
    return rows


def test_the_round_trip_covers_every_export_format():
    assert set(CARRIED) == set(EXPORT_FORMATS)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_bank_parses_back_to_the_same_questions(db, fmt):
    bank = make_bank(db, questions=BANK_QUESTIONS)
    data = service.export_bank(bank, fmt)
    back = parse(data, FILENAMES[fmt])
    assert back.ok and not back.warnings, back.problems
    assert len(back.questions) == len(BANK_QUESTIONS)
    assert carried(back.questions, fmt) == carried(BANK_QUESTIONS, fmt)
    # …and importing the export into a fresh bank gives the same rows.
    copy = service.new_bank(f"副本 {fmt}", None, back.bank)
    assert service.commit_import(service.plan_import(back, copy), copy) == len(BANK_QUESTIONS)
    db.session.commit()
    assert sorted(stems(db, copy)) == sorted(x.stem for x in BANK_QUESTIONS)


def test_json_export_keeps_the_bank_metadata(db):
    seed_sectors()
    bank = service.new_bank("消防安全", None, {"subject": "hazard_fire", "description": "重点单位",
                                              "sectors": ["fire_key", "commerce"], "audiences": ["staff", "nobody"]})
    db.session.commit()
    meta = parse(service.export_bank(bank, "json"), "b.json").bank
    assert meta["name"] == "消防安全" and meta["subject"] == "hazard_fire" and meta["description"] == "重点单位"
    assert sorted(meta["sectors"]) == ["commerce", "fire_key"] and meta["audiences"] == ["staff"]


@pytest.mark.parametrize("fmt", ["json", "xlsx", "gift"])
def test_retired_questions_are_left_out_unless_asked_for(db, fmt):
    bank = make_bank(db, questions=BANK_QUESTIONS)
    retired = db.session.scalar(select(Question).where(Question.stem == BANK_QUESTIONS[1].stem))
    retired.status = "retired"
    db.session.commit()
    active = [x.stem for x in parse(service.export_bank(bank, fmt), FILENAMES[fmt]).questions]
    assert active == [x.stem for x in BANK_QUESTIONS if x is not BANK_QUESTIONS[1]]
    every = [x.stem for x in parse(service.export_bank(bank, fmt, include_retired=True), FILENAMES[fmt]).questions]
    assert every == [x.stem for x in BANK_QUESTIONS]


def test_export_bank_holds_only_that_bank(db):
    bank = make_bank(db, questions=BANK_QUESTIONS[:2])
    make_bank(db, "别的题库", questions=BANK_QUESTIONS[2:])
    assert [x.stem for x in parse(service.export_bank(bank, "json"), "b.json").questions] == [
        x.stem for x in BANK_QUESTIONS[:2]]


# --- shipped banks ----------------------------------------------------------------------------

@pytest.fixture
def shipped(db):
    seed_sectors()
    db.session.commit()
    return service.shipped_directory()


def test_load_shipped_loads_every_bank_with_its_sectors(db, shipped):
    summary = service.load_shipped(shipped)
    db.session.commit()
    assert (summary.banks_created, summary.added, summary.updated, summary.retired, summary.unchanged) == (
        SHIPPED_COUNT, SHIPPED_QUESTIONS, 0, 0, 0)
    assert count(db, QuestionBank) == SHIPPED_COUNT and count(db, Question, status="active") == SHIPPED_QUESTIONS
    files = sorted(shipped.glob("*.json"))
    assert len(files) == SHIPPED_COUNT
    with_sectors = 0
    for path in files:
        data = json.loads(path.read_text("utf-8"))
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == path.stem))
        assert bank is not None and bank.owner_id is None and bank.name == data["bank"]["name"], path.name
        assert sorted(bank.sector_codes()) == sorted(data["bank"].get("sectors") or []), path.name
        assert bank.subject == data["bank"]["subject"], path.name
        assert count(db, bank_id=bank.id) == len(data["questions"]), path.name
        with_sectors += bool(bank.sectors)
    assert with_sectors >= 5
    fire = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == "hazard_fire"))
    assert set(fire.sector_codes()) == {"fire_key", "commerce", "culture_tourism", "healthcare"}


def test_load_shipped_twice_changes_nothing(db, shipped):
    service.load_shipped(shipped)
    db.session.commit()

    def snapshot():
        db.session.expire_all()
        return (sorted(db.session.execute(select(Question.id, Question.version, Question.status,
                                                 Question.updated_at)).all()),
                sorted(db.session.execute(select(QuestionBank.id, QuestionBank.name, QuestionBank.updated_at)).all()))

    before = snapshot()
    again = service.load_shipped(shipped)
    db.session.commit()
    assert (again.banks_created, again.added, again.updated, again.retired, again.unchanged) == (
        0, 0, 0, 0, SHIPPED_QUESTIONS)
    assert snapshot() == before


def _edited_copy(shipped, tmp_path, name="work_safety_law.json"):
    """A copy of the shipped banks with one explanation changed and one question removed in `name`."""
    target = tmp_path / "banks"
    shutil.copytree(shipped, target)
    data = json.loads((target / name).read_text("utf-8"))
    changed, removed = data["questions"][0], data["questions"].pop(1)
    changed["explanation"] += "（已修订）"
    (target / name).write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    return target, changed, removed


def test_load_shipped_updates_a_changed_question_and_retires_a_removed_one(db, shipped, tmp_path):
    service.load_shipped(shipped)
    db.session.commit()
    directory, changed, removed = _edited_copy(shipped, tmp_path)
    summary = service.load_shipped(directory)
    db.session.commit()
    assert (summary.banks_created, summary.added, summary.updated, summary.retired, summary.unchanged) == (
        0, 0, 1, 1, SHIPPED_QUESTIONS - 2)
    db.session.expire_all()
    edited = db.session.scalar(select(Question).where(Question.stem == changed["stem"]))
    assert edited.explanation.endswith("（已修订）") and edited.status == "active"
    assert edited.version == 1  # never used, so edited in place
    gone = db.session.scalar(select(Question).where(Question.stem == removed["stem"]))
    assert gone.status == "retired"
    assert count(db, Question, status="active") == SHIPPED_QUESTIONS - 1
    # Running the edited files again is a no-op; going back to the originals restores both.
    again = service.load_shipped(directory)
    assert (again.updated, again.retired, again.added) == (0, 0, 0)
    back = service.load_shipped(shipped)
    db.session.commit()
    assert (back.updated, back.retired, back.added) == (2, 0, 0)
    assert count(db, Question, status="active") == SHIPPED_QUESTIONS


def test_load_shipped_starts_a_new_version_of_a_question_in_use(db, shipped, tmp_path):
    service.load_shipped(shipped)
    db.session.commit()
    directory, changed, _removed = _edited_copy(shipped, tmp_path)
    question = db.session.scalar(select(Question).where(Question.stem == changed["stem"]))
    old_explanation = question.explanation
    freeze(question)
    db.session.commit()
    service.load_shipped(directory)
    db.session.commit()
    db.session.expire_all()
    assert question.version == 2 and question.explanation == changed["explanation"]
    (frozen,) = db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question.id))
    assert frozen.version == 1 and frozen.explanation == old_explanation


def test_load_shipped_refuses_a_name_taken_by_an_uploaded_bank(db, shipped):
    name = json.loads((shipped / "hazard_fire.json").read_text("utf-8"))["bank"]["name"]
    make_bank(db, name)
    with pytest.raises(service.ShippedBankError, match="hazard_fire.json"):
        service.load_shipped(shipped)


# --- may_edit ---------------------------------------------------------------------------------

def test_may_edit(world, db):
    users = world.users
    other_trainer = factories.user("trainer2", RoleGrant(role="trainer"))
    owned = make_bank(db, "培训师的题库", owner_id=users["trainer"].id)
    shipped_bank = make_bank(db, "随系统提供的题库", owner_id=None)
    assert service.may_edit(users["admin"], owned)
    assert service.may_edit(users["trainer"], owned)
    assert not service.may_edit(other_trainer, owned)
    assert not service.may_edit(users["manager_a"], owned)
    assert not service.may_edit(users["learner"], owned)
    assert service.may_edit(users["admin"], shipped_bank)
    for login in ("trainer", "manager_a", "regulator", "learner"):
        assert not service.may_edit(users[login], shipped_bank), login
    assert not service.may_edit(other_trainer, shipped_bank)


def test_editable_banks_match_may_edit(world, db):
    users = world.users
    owned = make_bank(db, "培训师的题库", owner_id=users["trainer"].id)
    make_bank(db, "随系统提供的题库", owner_id=None)
    archived = make_bank(db, "已归档", owner_id=users["trainer"].id)
    archived.status = "archived"
    db.session.commit()

    def names(login):
        return [b.name for b in db.session.scalars(service.editable_banks(users[login]))]

    assert sorted(names("admin")) == sorted(["培训师的题库", "随系统提供的题库"])
    assert names("trainer") == [owned.name]
    assert names("manager_a") == []
