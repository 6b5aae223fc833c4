"""Word (.docx) and plain-text banks in the Chinese exam-paper layout."""

import io

import docx
import pytest

from trainapp.questionbank.formats import parse

PAPER = [
    "2024 年街道安全生产知识测试卷",
    "（考试时间 60 分钟）",
    "一、单项选择题（每题 2 分，共 3 题）",
    "1. 发现火灾时，应立即拨打的火警电话是（ ）。",
    "A. 110    B. 119    C. 120    D. 122",
    "答案：B",
    "解析：火警电话为 119。",
    "也可通过 12350 举报隐患。",
    "2、生产经营单位的主要负责人对本单位安全生产工作（ ）负责。",
    "A．全面",
    "B．部分",
    "C、一般",
    "【答案】A",
    "【解析】见《安全生产法》第五条。",
    "出处：《中华人民共和国安全生产法》",
    "难度：中",
    "标签：主要负责人、责任",
    "（3）动火作业前必须办理（ B ）。",
    "A. 备案 B. 审批手续 C. 口头报告",
    "二、多项选择题（每题 3 分）",
    "1．下列属于特种作业的有（ ）。",
    "A：电工作业",
    "B：焊接与热切割作业",
    "C：文秘工作",
    "D：高处作业",
    "答案:ABD",
    "三、判断题",
    "1. 从业人员有权拒绝违章指挥和强令冒险作业。（√）",
    "2. 可以用水扑灭带电设备火灾。",
    "答案：错",
    "第3题 安全出口可以上锁。答案：× 解析：安全出口严禁上锁。",
    "四、填空题",
    "1. 《安全生产法》自____起施行。",
    "答案：2021年9月1日",
]


def docx_bytes(lines, table_rows=None) -> bytes:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    if table_rows:
        table = document.add_table(rows=len(table_rows), cols=1)
        for row, text in zip(table.rows, table_rows):
            row.cells[0].text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture(params=["docx", "txt-utf8", "txt-gbk"])
def paper(request):
    if request.param == "docx":
        return parse(docx_bytes(PAPER), "卷.docx"), "段"
    encoding = "utf-8" if request.param == "txt-utf8" else "gbk"
    return parse("\r\n".join(PAPER).encode(encoding), "卷.txt"), "行"


def test_paper_layout(paper):
    result, unit = paper
    assert len(result.questions) == 7, result.problems
    fire = result.questions[0]
    assert (fire.qtype, fire.options, fire.answer) == ("single", ["110", "119", "120", "122"], "B")
    assert fire.explanation == "火警电话为 119。\n也可通过 12350 举报隐患。"
    assert fire.ref == f"第 1 题（第 4 {unit}）"
    duty = result.questions[1]
    assert (duty.options, duty.answer, duty.source, duty.difficulty, duty.tags) == (
        ["全面", "部分", "一般"], "A", "《中华人民共和国安全生产法》", 2, ["主要负责人", "责任"])
    assert duty.explanation == "见《安全生产法》第五条。"
    hot = result.questions[2]
    assert (hot.stem, hot.options, hot.answer) == ("动火作业前必须办理（ ）。", ["备案", "审批手续", "口头报告"], "B")
    special = result.questions[3]
    assert (special.qtype, special.answer, special.options[1]) == ("multiple", "ABD", "焊接与热切割作业")
    right, water, exit_ = result.questions[4:7]
    assert (right.qtype, right.answer, right.stem) == ("truefalse", "T", "从业人员有权拒绝违章指挥和强令冒险作业。（ ）")
    assert (water.qtype, water.answer) == ("truefalse", "F")
    assert exit_.answer == "F" and exit_.explanation == "安全出口严禁上锁。"
    assert exit_.stem == "安全出口可以上锁。"
    (unsupported,) = result.unsupported
    assert "填空题" in unsupported.message and unsupported.ref == f"第 1 题（第 33 {unit}）"
    assert not result.errors


def test_explanation_on_the_answer_line_is_split_off():
    result = parse(docx_bytes(["三、判断题", "1. 安全出口可以上锁。", "答案：× 解析：严禁上锁。"]), "b.docx")
    (q,) = result.questions
    assert (q.answer, q.explanation) == ("F", "严禁上锁。")


def test_questions_inside_a_table_are_read():
    result = parse(docx_bytes(["一、判断题"], ["1. 灭火器应定期检查。", "答案：对"]), "b.docx")
    assert [(q.stem, q.answer) for q in result.questions] == [("灭火器应定期检查。", "T")]


@pytest.mark.parametrize("lines, fragment", [
    (["一、单选题", "1. 题干", "A. 甲", "B. 乙", "答案：AB"], "只能有一个答案"),
    (["一、单选题", "1. 题干", "A. 甲", "B. 乙", "答案：E"], "没有对应的选项"),
    (["一、单选题", "1. 题干", "A. 甲", "B. 乙"], "缺少答案"),
    (["一、判断题", "1. 题干", "A. 对", "B. 不对", "答案：A"], "判断题不应有选项"),
    (["一、多选题", "1. 题干", "A. 甲", "B. 乙", "答案：A"], "至少要有两个正确答案"),
    (["1. 没有标题也没有答案的题"], "无法判断题型"),
])
def test_docx_question_errors_name_the_question(lines, fragment):
    result = parse(docx_bytes(lines), "b.docx")
    assert not result.ok
    assert any(fragment in p.message and p.ref.startswith("第 1 题（第 ") for p in result.errors), result.problems


def test_docx_without_questions():
    result = parse(docx_bytes(["会议通知", "请各单位准时参加。"]), "b.docx")
    assert [p.ref for p in result.errors] == ["文件"] and "没有找到题目" in result.errors[0].message


def test_corrupt_docx_is_a_file_problem():
    data = docx_bytes(["一、判断题"]).replace(b"word/document.xml", b"word/documenx.xml")
    result = parse(data, "b.docx")
    assert [p.ref for p in result.errors] == ["文件"]


def test_export_uses_the_same_layout():
    from trainapp.questionbank.formats import ParsedQuestion, export

    data = export([ParsedQuestion("truefalse", "第一行\n第二行", [], "F", "解析", "出处", 3, ["标签"]),
                   ParsedQuestion("single", "题干", ["甲", "乙"], "A")], "docx", bank={"name": "消防题库"})
    text = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    assert text[:2] == ["消防题库", "一、单选题"]
    assert "二、判断题" in text and "1. 第一行\n第二行" in text and "答案：错误" in text and "难度：难" in text
