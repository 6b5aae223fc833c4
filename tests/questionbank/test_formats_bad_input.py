"""Bad uploads come back as Problems, never as exceptions: row errors, bombs, lies about format."""

import io
import os
import struct
import time
import zipfile

import openpyxl
import pytest

from trainapp.questionbank.formats import FORMATS, MAX_BYTES, ParsedQuestion, export, parse

HEADER = "题型,题干,选项A,选项B,选项C,选项D,答案\n"


def csv_result(*rows: str):
    return parse((HEADER + "\n".join(rows)).encode("utf-8"), "b.csv")


def file_error(result) -> str:
    assert not result.ok and result.questions == []
    (problem,) = result.problems
    assert (problem.ref, problem.kind) == ("文件", "error")
    return problem.message


@pytest.mark.parametrize("data", [b"", b"   \r\n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n"])
@pytest.mark.parametrize("filename", ["b.csv", "b.xlsx", "b.docx", "b.gift", ""])
def test_empty_file(data, filename):
    assert "空" in file_error(parse(data, filename))


def test_missing_or_wrong_headers():
    assert "找不到表头" in file_error(parse("名称,数量\n灭火器,3\n".encode(), "b.csv"))
    assert "答案" in file_error(parse("题型,题干,选项A\n单选,题,甲\n".encode(), "b.csv"))


@pytest.mark.parametrize("row, fragment", [
    ("单选题,题一,甲,乙,,,E", "答案 E 没有对应的选项"),
    ("单选题,题一,甲,乙,丙,丁,AB", "单选题只能有一个答案"),
    ("判断题,题一,可以,不可以,,,A", "判断题不应有选项"),
    ("多选题,题一,甲,乙,丙,丁,C", "多选题至少要有两个正确答案"),
    ("多选题,题一,甲,乙,丙,丁,", "缺少答案"),
    ("问卷题,题一,甲,乙,丙,丁,A", "无法识别的题型"),
    (",,甲,乙,丙,丁,A", "缺少题干"),
    ("单选题,题一,甲,,丙,,A", "选项 B 为空"),
    (",题一,,,,,也许", "无法判断题型"),
])
def test_row_errors_name_the_row(row, fragment):
    result = csv_result("判断题,正确的题,,,,,对", row)
    assert not result.ok
    assert [q.ref for q in result.questions] == ["第 2 行"]
    errors = [(p.ref, p.message) for p in result.errors]
    assert errors and all(ref == "第 3 行" for ref, _message in errors)
    assert any(fragment in message for _ref, message in errors), errors


def test_unsupported_types_are_reported_as_unsupported():
    result = csv_result("填空题,安全生产法自____起施行,,,,,2021年9月1日", "简答题,简述三同时,,,,,略")
    assert [(p.ref, p.kind) for p in result.problems] == [("第 2 行", "unsupported"), ("第 3 行", "unsupported")]
    assert "填空题" in result.problems[0].message and not result.ok


def test_twenty_megabytes_of_junk_is_rejected_fast():
    junk = os.urandom(MAX_BYTES + 1)
    start = time.perf_counter()
    assert "20 MB" in file_error(parse(junk, "b.xlsx"))
    junk = junk[:MAX_BYTES]
    for name in ("b.xlsx", "b.csv", "b.docx", "b.json", ""):
        file_error(parse(junk, name))
    file_error(parse(b"PK\x03\x04" + junk[4:], "b.xlsx"))
    assert time.perf_counter() - start < 5


def _bomb(names: list[str], size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in names[:-1]:
            archive.writestr(name, b"<x/>")
        with archive.open(names[-1], "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize("filename, names", [
    ("bomb.xlsx", ["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]),
    ("bomb.docx", ["[Content_Types].xml", "word/document.xml"]),
])
def test_zip_bomb_is_rejected(filename, names):
    data = _bomb(names, 64 << 20)
    assert len(data) < 1 << 20
    start = time.perf_counter()
    message = file_error(parse(data, filename))
    assert "压缩" in message and time.perf_counter() - start < 2


def _with_declared_size(data: bytes, name: bytes, size: int) -> bytes:
    """Patch the central-directory entry of ``name`` to claim an uncompressed ``size``."""
    entry = 0
    while True:
        entry = data.index(b"PK\x01\x02", entry)
        name_length = struct.unpack("<H", data[entry + 28:entry + 30])[0]
        if data[entry + 46:entry + 46 + name_length] == name:
            return data[:entry + 24] + struct.pack("<I", size) + data[entry + 28:]
        entry += 4


def _real_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["题干", "答案"])
    book.active.append(["可以用水灭电器火。", "错"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_member_larger_than_declared_is_rejected_as_corrupt():
    data = _with_declared_size(_real_xlsx(), b"xl/worksheets/sheet1.xml", 10)
    assert "损坏" in file_error(parse(data, "b.xlsx"))


def test_declared_total_over_the_limit_is_rejected():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<x/>")
        archive.writestr("xl/media/big.bin", os.urandom(2 << 20))
    data = _with_declared_size(out.getvalue(), b"xl/media/big.bin", 250 << 20)
    assert "200 MB" in file_error(parse(data, "b.xlsx"))


def test_too_many_members_is_rejected():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<x/>")
        for i in range(2100):
            archive.writestr(f"x/{i}", b"")
    assert "过多" in file_error(parse(out.getvalue(), "b.xlsx"))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<quiz><question type="truefalse"><questiontext><text>&lol9;</text></questiontext></question></quiz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="truefalse"><questiontext><text>&xxe;</text></questiontext></question></quiz>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE])
@pytest.mark.parametrize("filename, fmt", [("b.xml", "auto"), ("b.txt", "moodlexml"), ("", "auto")])
def test_xml_bombs_and_external_entities_are_rejected(payload, filename, fmt):
    message = file_error(parse(payload, filename, fmt=fmt))
    assert "DTD" in message or "实体" in message


def test_dtd_inside_an_office_file_is_rejected():
    data = _real_xlsx()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/workbook.xml":
                body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + body
            target.writestr(info, body)
    assert "DTD" in file_error(parse(out.getvalue(), "b.xlsx"))


@pytest.mark.parametrize("filename", ["bank.xlsx", "bank.XLSX", "bank.xls", "bank.docx"])
def test_office_extension_on_a_text_file_is_rejected(filename):
    message = file_error(parse("题型,题干,答案\n判断,可以,对\n".encode(), filename))
    assert "扩展名" in message and filename.lower()[filename.rfind("."):] in message


def test_office_content_under_the_wrong_office_extension():
    assert "Excel" in file_error(parse(_real_xlsx(), "bank.docx"))
    assert "Word" in file_error(parse(export([], "docx"), "bank.xlsx"))


def test_explicit_format_that_does_not_match_the_bytes():
    assert "xlsx" in file_error(parse("题干,答案\n".encode(), "b.csv", fmt="xlsx"))
    assert "csv" in file_error(parse(_real_xlsx(), "b.xlsx", fmt="csv"))
    assert "不支持的格式" in file_error(parse(b"x", "b", fmt="pdf"))


def test_old_office_ods_and_other_zips_are_explained():
    assert "另存为" in file_error(parse(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "b.xls"))
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    assert "ODS" in file_error(parse(ods.getvalue(), "b.ods"))
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hi")
    assert "压缩包" in file_error(parse(other.getvalue(), "b.zip"))


def test_truncated_office_files():
    for data, name in ((_real_xlsx(), "b.xlsx"), (export([], "docx"), "b.docx")):
        file_error(parse(data[: len(data) // 2], name))


def test_binary_junk_under_a_text_name():
    assert "文本" in file_error(parse(b"\x00\x01\x02garbage" * 100, "b.csv"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_parser_survives_odd_input(fmt):
    for data in (b"{", b"<", b"\xff\xfe", b"PK\x03\x04", b"::a::{", b"1. A. B.", "答案：".encode(), b"\xd0\xcf\x11\xe0"):
        result = parse(data, "", fmt=fmt)
        assert result.problems or result.questions


def test_html_and_script_stay_text_in_every_format():
    stem = '<script>alert("x")</script><a href="javascript:alert(1)">点我</a>'
    question = ParsedQuestion("truefalse", stem, [], "T")
    for fmt in ("json", "xlsx", "csv", "gift", "moodlexml", "docx", "aiken"):
        (parsed,) = parse(export([question], fmt), f"b.{fmt}").questions
        assert parsed.stem == stem, fmt
