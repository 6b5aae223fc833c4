"""Lenient csv/xlsx reading: header synonyms, one-cell options, answer spellings, encodings."""

import csv
import io

import openpyxl
import pytest

from trainapp.questionbank.formats import parse, template_csv, template_xlsx

HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "标签", "出处"]


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, title=None):
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def both(rows):
    """The same table as csv and as xlsx."""
    return [("b.csv", csv_bytes(rows)), ("b.xlsx", xlsx_bytes(rows))]


def only(result):
    assert result.ok, result.problems
    (question,) = result.questions
    return question


@pytest.mark.parametrize("header", [
    ["题型", "试题内容", "A", "B", "C", "D", "正确答案", "答案解析", "难度", "知识点", "来源"],
    ["题 型", "题目：", "A选项", "B选项", "C选项", "D选项", "参考答案", "试题解析", "难易度", "标签", "依据"],
    ["*题型", "*题干", "选项 A", "选项 B：", "选项C", "选项D", "答案（必填）", "解析", "Difficulty", "Tags", "Source"],
    ["Type", "Question", "Option A", "Option B", "Option C", "Option D", "Answer", "Explanation", "难度", "关键词", "出处"],
])
def test_header_synonyms(header):
    rows = [header, ["单选", "动火作业前应当办理什么？", "审批", "报备", "口头同意", "无需", "A", "须审批", "2", "动火", "规定"]]
    for name, data in both(rows):
        q = only(parse(data, name))
        assert (q.qtype, q.stem, q.options, q.answer) == ("single", "动火作业前应当办理什么？", ["审批", "报备", "口头同意", "无需"], "A")
        assert (q.explanation, q.difficulty, q.tags, q.source, q.ref) == ("须审批", 2, ["动火"], "规定", "第 2 行")


@pytest.mark.parametrize("cell", [
    "A.审批**B.报备**C.口头同意",
    "A、审批##B、报备##C、口头同意",
    "A:审批|B:报备|C:口头同意",
    "A．审批\nB．报备\nC．口头同意",
    "A)审批 | B)报备 | C)口头同意",
    "(A)审批**(B)报备**(C)口头同意",
    "A审批|B报备|C口头同意",
    "审批|报备|口头同意",
    "A.审批  B.报备  C.口头同意",
    "Ａ．审批\nＢ．报备\nＣ．口头同意",
])
def test_one_cell_options(cell):
    rows = [["题型", "题干", "选项", "答案"], ["单选题", "动火作业前应当？", cell, "A"]]
    for name, data in both(rows):
        q = only(parse(data, name))
        assert q.options == ["审批", "报备", "口头同意"], (name, cell)


def test_bare_letters_are_only_stripped_when_every_option_has_them():
    rows = [["题干", "选项", "答案"], ["哪种灯更节能？", "LED灯|白炽灯", "A"]]
    assert only(parse(csv_bytes(rows), "b.csv")).options == ["LED灯", "白炽灯"]


@pytest.mark.parametrize("answer, expected", [
    ("ACD", "ACD"), ("A,C,D", "ACD"), ("a c d", "ACD"), ("A、C、D", "ACD"), ("D C A", "ACD"), ("ＡＣＤ", "ACD"),
])
def test_answer_spellings_for_multiple(answer, expected):
    rows = [HEADER, ["多选题", "属于特种作业的是？", "电工", "文员", "焊工", "高处作业", answer, "", "", "", ""]]
    for name, data in both(rows):
        assert only(parse(data, name)).answer == expected


@pytest.mark.parametrize("answer, expected", [
    ("对", "T"), ("错", "F"), ("正确", "T"), ("错误", "F"), ("√", "T"), ("×", "F"), ("T", "T"), ("F", "F"),
    ("true", "T"), ("FALSE", "F"), ("是", "T"), ("否", "F"), ("Y", "T"), ("N", "F"), ("✓", "T"), ("✗", "F"),
])
def test_answer_spellings_for_truefalse(answer, expected):
    rows = [HEADER, ["判断题", "可以用水扑灭电器火灾。", "", "", "", "", answer, "", "", "", ""]]
    for name, data in both(rows):
        q = only(parse(data, name))
        assert (q.qtype, q.answer, q.options) == ("truefalse", expected, [])


def test_truefalse_written_as_two_options_becomes_truefalse():
    rows = [HEADER, ["判断题", "可以用水扑灭电器火灾。", "正确", "错误", "", "", "B", "", "", "", ""]]
    q = only(parse(csv_bytes(rows), "b.csv"))
    assert (q.qtype, q.options, q.answer) == ("truefalse", [], "F")


def test_type_is_inferred_when_the_column_is_missing_or_empty():
    rows = [["题干", "A", "B", "C", "答案"],
            ["一个答案的题", "甲", "乙", "丙", "B"],
            ["多个答案的题", "甲", "乙", "丙", "AC"],
            ["没有选项的题", "", "", "", "对"]]
    for name, data in both(rows):
        result = parse(data, name)
        assert result.ok, result.problems
        assert [(q.qtype, q.answer) for q in result.questions] == [
            ("single", "B"), ("multiple", "AC"), ("truefalse", "T")]
    rows = [["题型"] + rows[0]] + [[""] + r for r in rows[1:]]
    assert [q.qtype for q in parse(csv_bytes(rows), "b.csv").questions] == ["single", "multiple", "truefalse"]


@pytest.mark.parametrize("raw, expected", [("1", 1), ("2", 2), ("3", 3), ("易", 1), ("中", 2), ("难", 3),
                                           ("简单", 1), ("一般", 2), ("困难", 3), ("", None)])
def test_difficulty(raw, expected):
    rows = [HEADER, ["判断题", "题干", "", "", "", "", "对", "", raw, "", ""]]
    assert only(parse(csv_bytes(rows), "b.csv")).difficulty == expected


def test_unknown_difficulty_is_a_warning():
    rows = [HEADER, ["判断题", "题干", "", "", "", "", "对", "", "超难", "", ""]]
    result = parse(csv_bytes(rows), "b.csv")
    assert result.ok and result.questions[0].difficulty is None
    assert [p.ref for p in result.warnings] == ["第 2 行"]


def test_tags_split_on_every_separator():
    rows = [HEADER, ["判断题", "题干", "", "", "", "", "对", "", "", "消防,应急；动火、 有限空间;用电，消防  高处", ""]]
    assert only(parse(csv_bytes(rows), "b.csv")).tags == ["消防", "应急", "动火", "有限空间", "用电", "高处"]


def test_title_rows_blank_rows_and_row_numbers():
    rows = [["2024 年安全生产培训题库"], [], HEADER,
            ["判断题", "第一题", "", "", "", "", "对", "", "", "", ""], [],
            ["判断题", "", "", "", "", "", "对", "", "", "", ""]]
    for name, data in both(rows):
        result = parse(data, name)
        assert [q.ref for q in result.questions] == ["第 4 行"]
        assert [(p.ref, p.message) for p in result.errors] == [("第 6 行", "缺少题干")]


def test_duplicate_stems_are_warnings():
    rows = [HEADER, ["判断题", "同一道题", "", "", "", "", "对", "", "", "", ""],
            ["判断题", " 同一道题", "", "", "", "", "错", "", "", "", ""]]
    result = parse(csv_bytes(rows), "b.csv")
    assert result.ok and len(result.questions) == 2
    assert [(p.ref, p.kind) for p in result.problems] == [("第 3 行", "warning")]
    assert "第 2 行" in result.problems[0].message


def test_html_and_script_stay_plain_text():
    stem = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rows = [HEADER, ["判断题", stem, "", "", "", "", "对", "", "", "", ""]]
    for name, data in both(rows):
        assert only(parse(data, name)).stem == stem


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings(encoding):
    rows = [HEADER, ["单选题", "《安全生产法》规定的“三同时”指什么？", "同时设计", "同时验收", "同时报批", "同时施工",
                     "A", "", "", "", ""]]
    q = only(parse(csv_bytes(rows, encoding=encoding), "b.csv"))
    assert q.stem == "《安全生产法》规定的“三同时”指什么？"


def test_tab_and_semicolon_separated_files():
    rows = [HEADER, ["判断题", "题干，含逗号", "", "", "", "", "对", "", "", "", ""]]
    for delimiter in ("\t", ";"):
        assert only(parse(csv_bytes(rows, delimiter=delimiter), "b.txt")).stem == "题干，含逗号"


def test_gb18030_only_characters():
    rows = [HEADER, ["判断题", "生僻字𠀀与㐀可以保存。", "", "", "", "", "对", "", "", "", ""]]
    assert only(parse(csv_bytes(rows, encoding="gb18030"), "b.csv")).stem == "生僻字𠀀与㐀可以保存。"


def resaved(text: str, wrong: str, errors: str = "ignore") -> bytes:
    """UTF-8 bytes opened with the wrong encoding and saved again as UTF-8 (鍙戠敓… / Ã©…)."""
    return text.encode("utf-8").decode(wrong, errors=errors).encode("utf-8")


@pytest.mark.parametrize("garble", [
    lambda t: resaved(t, "gbk"),
    lambda t: resaved(t, "gbk", errors="replace"),
    lambda t: resaved(t, "cp1252"),
    lambda t: t.replace("题", "锟斤拷").encode("utf-8"),
    lambda t: t.replace("安全", "\ufffd\ufffd").encode("utf-8"),
    lambda t: "".join("?" if ord(c) > 127 else c for c in t).encode("ascii"),
])
def test_mojibake_is_refused(garble):
    rows = [HEADER] + [["单选题", f"第{i}题：发生火灾时应当首先做什么？", "报警", "逃生", "灭火", "拍照", "A", "安全第一",
                        "", "", ""] for i in range(5)]
    text = "\r\n".join(",".join(r) for r in rows)
    result = parse(garble(text), "b.csv")
    assert not result.ok and result.questions == []
    assert [p.ref for p in result.errors] == ["文件"]
    assert any(word in result.errors[0].message for word in ("乱码", "“?”"))


def test_undecodable_bytes_are_refused():
    result = parse(b"\xff\xfe\xfd" * 10 + "题干,答案\n".encode(), "b.csv")
    assert not result.ok and result.errors[0].ref == "文件"


def test_templates_parse_to_their_two_examples():
    for name, data in (("t.xlsx", template_xlsx()), ("t.csv", template_csv())):
        result = parse(data, name)
        assert result.ok, result.problems
        assert [(q.qtype, q.answer) for q in result.questions] == [("single", "B"), ("truefalse", "T")]
    assert template_csv().startswith("\ufeff题型,题干,选项A".encode("utf-8"))
    header = [c.value for c in openpyxl.load_workbook(io.BytesIO(template_xlsx())).active[1]]
    assert header == ["题型", "题干", *[f"选项{c}" for c in "ABCDEFGH"], "答案", "解析", "难度", "标签", "出处"]
