"""xlsx structure: formulas, merged cells, hidden and multiple sheets, and calamine's size guard."""

import io
import re
import subprocess
import sys
import warnings
import zipfile

import openpyxl
import pytest

from trainapp.questionbank.formats import parse

HEADER = ["题型", "题干", "选项A", "选项B", "答案"]
ROW = ["单选题", "动火作业前必须？", "办理审批", "口头告知", "A"]


def save(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook(*rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    return book


def rewrite(data: bytes, part: str, change) -> bytes:
    """Copy a zip, passing one member's bytes through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info.filename, change(body) if info.filename == part else body)
    return out.getvalue()


SHEET1 = "xl/worksheets/sheet1.xml"


def test_formula_without_a_cached_value_is_an_error_naming_the_cell():
    data = save(workbook(HEADER, ["单选题", '="动火作业"&"前必须？"', "办理审批", "口头告知", "A"], ROW))
    result = parse(data, "b.xlsx")
    assert not result.ok
    (error,) = result.errors
    assert error.ref == "第 2 行" and "B2" in error.message and "公式" in error.message
    assert [q.ref for q in result.questions] == ["第 3 行"]


def test_formula_with_a_cached_value_uses_the_value():
    data = save(workbook(HEADER, ["单选题", '="动火作业"&"前必须？"', "办理审批", "口头告知", "A"]))
    data = rewrite(data, SHEET1, lambda xml: re.sub(rb'<c r="B2"><f>(.*?)</f><v></v></c>',
                                                    '<c r="B2" t="str"><f>\\1</f><v>动火作业前必须？</v></c>'.encode(), xml))
    result = parse(data, "b.xlsx")
    assert result.ok, result.problems
    assert result.questions[0].stem == "动火作业前必须？"
    assert any("B2" in p.message for p in result.warnings)


def test_merged_cells_in_the_data_area_are_an_error_naming_the_range():
    book = workbook(HEADER, ROW, ["单选题", "第二题", "甲", "乙", "B"], ["", "第三题", "甲", "乙", "A"])
    book.active.merge_cells("A3:A4")
    result = parse(save(book), "b.xlsx")
    assert not result.ok
    (error,) = result.errors
    assert error.ref == "第 3 行" and "A3:A4" in error.message and "合并单元格" in error.message
    assert [q.ref for q in result.questions] == ["第 2 行"]


def test_a_merged_title_above_the_header_is_fine():
    book = workbook(["2024 年安全生产培训题库"], HEADER, ROW)
    book.active.merge_cells("A1:E1")
    result = parse(save(book), "b.xlsx")
    assert result.ok and [q.ref for q in result.questions] == ["第 3 行"]


def test_bank_only_on_a_hidden_sheet_is_reported():
    book = workbook(["说明：请填写题目"])
    hidden = book.create_sheet("题库")
    for row in (HEADER, ROW):
        hidden.append(row)
    hidden.sheet_state = "hidden"
    result = parse(save(book), "b.xlsx")
    assert not result.ok and result.questions == []
    assert "隐藏" in result.errors[0].message and "题库" in result.errors[0].message


def test_visible_bank_is_read_and_hidden_sheets_are_mentioned():
    book = workbook(HEADER, ROW)
    other = book.create_sheet("旧题")
    other.append(HEADER)
    other.append(["单选题", "不该导入", "甲", "乙", "A"])
    other.sheet_state = "hidden"
    result = parse(save(book), "b.xlsx")
    assert result.ok and [q.stem for q in result.questions] == ["动火作业前必须？"]
    assert any("旧题" in p.message for p in result.warnings)


def test_first_visible_sheet_when_the_first_sheet_is_hidden():
    book = workbook(["单选题", "隐藏表的题"])
    book.active.sheet_state = "hidden"
    visible = book.create_sheet("可见")
    for row in (HEADER, ROW):
        visible.append(row)
    book.active = 1
    result = parse(save(book), "b.xlsx")
    assert result.ok and [q.stem for q in result.questions] == ["动火作业前必须？"]


def test_several_visible_sheets_with_headers_are_all_read_with_sheet_names_in_refs():
    book = workbook(["题干", "选项A", "选项B", "答案"], ["单选一", "甲", "乙", "A"])
    book.active.title = "单选题"
    judge = book.create_sheet("判断题")
    judge.append(["题干", "答案"])
    judge.append(["判断一", "对"])
    notes = book.create_sheet("说明")
    notes.append(["本题库由某街道编制"])
    result = parse(save(book), "b.xlsx")
    assert result.ok, result.problems
    assert [(q.qtype, q.ref) for q in result.questions] == [
        ("single", "工作表「单选题」第 2 行"), ("truefalse", "工作表「判断题」第 2 行")]
    assert any("说明" in p.message for p in result.warnings)


def test_numbers_and_booleans_in_cells_are_read_as_text():
    result = parse(save(workbook(["题型", "题干", "选项A", "选项B", "答案", "难度"],
                                 ["单选题", 2024, 1.5, 10, "b", 3.0],
                                 ["判断题", "数值为真", None, None, True, 1])), "b.xlsx")
    assert result.ok, result.problems
    first, second = result.questions
    assert (first.stem, first.options, first.answer, first.difficulty) == ("2024", ["1.5", "10"], "B", 3)
    assert (second.answer, second.difficulty) == ("T", 1)


def _parse_in_child(data: bytes) -> subprocess.CompletedProcess:
    # calamine aborts the process (it cannot raise) on an absurd sheet; run it where an abort
    # fails this test instead of killing the test run.
    code = ("import sys; from trainapp.questionbank.formats import parse; "
            "r = parse(sys.stdin.buffer.read(), 'b.xlsx'); print(r.ok, [p.message for p in r.errors])")
    return subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, timeout=120)


@pytest.mark.parametrize("payload", [
    b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
    b'<row r="1048576"><c t="inlineStr"><is><t>x</t></is></c></row><row><c/><c/></row>',
    b'<x:row r="1048576" xmlns:x="urn:x"><x:c r="XFD1048576"/></x:row>',
])
def test_a_far_away_cell_is_rejected_before_the_native_reader_allocates(payload):
    data = rewrite(save(workbook(HEADER, ROW)), SHEET1,
                   lambda xml: xml.replace(b"</sheetData>", payload + b"</sheetData>"))
    child = _parse_in_child(data)
    assert child.returncode == 0, child.stderr[-500:]
    out = child.stdout.decode()
    assert out.startswith("False") and "范围过大" in out


def test_an_inflated_shared_string_count_is_rejected():
    data = save(workbook(HEADER, ROW))
    data = rewrite(data, SHEET1, lambda xml: xml.replace(
        '<c r="B2" t="inlineStr"><is><t>'.encode() + "动火作业前必须？".encode("ascii", "xmlcharrefreplace")
        + b"</t></is></c>", b'<c r="B2" t="s"><v>0</v></c>'))
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            if info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(b"</Relationships>", b'<Relationship Id="rId9" Target="sharedStrings.xml" '
                                    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings"/></Relationships>')
            target.writestr(info, body)
        target.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                        b'2006/main" count="1" uniqueCount="4000000000"><si><t>x</t></si></sst>')
    child = _parse_in_child(out.getvalue())
    assert child.returncode == 0, child.stderr[-500:]
    assert child.stdout.decode().startswith("False") and "共享字符串" in child.stdout.decode()


def test_the_size_guard_does_not_depend_on_where_the_sheet_is_stored():
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    source = zipfile.ZipFile(io.BytesIO(save(workbook(HEADER, ROW))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info.filename)
            name = info.filename
            if name == SHEET1:
                name, body = "xl/elsewhere/data.xml", body.replace(b"</sheetData>", far + b"</sheetData>")
            body = body.replace(b"/xl/worksheets/sheet1.xml", b"/xl/elsewhere/data.xml")
            target.writestr(name, body)
    child = _parse_in_child(out.getvalue())
    assert child.returncode == 0, child.stderr[-500:]
    assert child.stdout.decode().startswith("False") and "范围过大" in child.stdout.decode()


def test_duplicate_member_names_are_rejected():
    source = zipfile.ZipFile(io.BytesIO(save(workbook(HEADER, ROW))))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate added on purpose
        with zipfile.ZipFile(buffer, "w") as target:
            for info in source.infolist():
                target.writestr(info.filename, source.read(info.filename))
            target.writestr(SHEET1, source.read(SHEET1))
    result = parse(buffer.getvalue(), "b.xlsx")
    assert not result.ok and "重名" in result.errors[0].message
