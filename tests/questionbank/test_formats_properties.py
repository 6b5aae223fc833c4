"""Property tests: whatever the bytes, parse() returns a ParseResult and no parser crashes.

parse() has a last-resort guard that turns an unexpected exception into a "内部错误" problem; these
tests fail if that guard is ever reached, so a parser bug cannot hide behind it.
"""

import csv
import io

import openpyxl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from trainapp.questionbank.formats import FORMATS, INTERNAL_ERROR, ParseResult, parse

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [b"", b"PK\x03\x04", b"PK\x05\x06", b"\xef\xbb\xbf", b"\xff\xfe", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
         b"<?xml version='1.0'?><quiz>", b'{"format": "trainapp-questionbank", "version": 1, "questions": [',
         "题型,题干,选项A,选项B,答案\n".encode(), b"::t::", b"$CATEGORY: x\n", "一、单选题\n1. ".encode(),
         b"Q\nA) x\nB) y\nANSWER: "]


def assert_clean(result):
    assert isinstance(result, ParseResult)
    assert all(INTERNAL_ERROR not in p.message for p in result.problems), result.problems
    assert all(p.kind in ("error", "warning", "unsupported") and p.ref for p in result.problems)
    _ = result.ok


@SETTINGS
@given(seed=st.sampled_from(SEEDS), body=st.binary(max_size=2000),
       fmt=st.sampled_from(("auto", *FORMATS)), name=st.sampled_from(["", "b.xlsx", "b.csv", "b.docx", "b.gift",
                                                                     "b.xml", "b.json", "b.txt"]))
def test_random_bytes(seed, body, fmt, name):
    assert_clean(parse(seed + body, name, fmt=fmt))


TOKENS = st.sampled_from(["{", "}", "=", "~", "#", "####", "%50%", "%-100%", "::", "\\", "\n", "\n\n", "->", "[html]",
                          "[markdown]", "T", "FALSE", "$CATEGORY:", "// [tag:x]", "A.", "B)", "ANSWER:", "答案：",
                          "解析：", "一、单选题", "1.", "（B）", "<p>", "&amp;", " ", "题干", "√"])
TEXT = st.lists(st.one_of(TOKENS, st.text(max_size=8)), max_size=60).map("".join)


@SETTINGS
@given(text=TEXT, fmt=st.sampled_from(("auto", "gift", "aiken", "txt", "csv", "json", "moodlexml")))
def test_random_text_in_text_formats(text, fmt):
    assert_clean(parse(text.encode("utf-8", errors="surrogatepass"), "b.txt", fmt=fmt))


CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["单选题", "多选题", "判断题", "填空题", "A", "ACD", "A,C", "对", "×", "1", "难", "A.甲**B.乙",
                     "A、甲\nB、乙", "=1+1", "'=x", "-5", "@x"]),
)
HEADERS = st.lists(st.sampled_from(["题型", "题干", "选项A", "选项B", "选项C", "选项", "答案", "解析", "难度", "标签", "出处",
                                    "分类", "序号", "备注", "A", "正确答案"]), min_size=1, max_size=10)
ROWS = st.lists(st.lists(CELL, max_size=12), max_size=15)


def _text_cell(value) -> str:
    return "" if value is None else str(value)


@SETTINGS
@given(headers=HEADERS, rows=ROWS, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_random_rows_as_csv(headers, rows, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([[_text_cell(v) for v in row] for row in rows])
    try:
        data = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    assert_clean(parse(data, "b.csv"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers=HEADERS, rows=ROWS)
def test_random_rows_as_xlsx(headers, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [headers, *rows]:
        if any(isinstance(v, str) and ILLEGAL_CHARACTERS_RE.search(v) for v in row):
            continue  # openpyxl cannot store those characters at all
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    assert_clean(parse(buffer.getvalue(), "b.xlsx"))
