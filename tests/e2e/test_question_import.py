"""A trainer imports a question bank in Chromium: upload → preview (errors by row) → confirm."""
import pytest

from tests.e2e.test_roles_in_browser import sign_in
from trainapp.questionbank import formats
from trainapp.questionbank.formats import ParsedQuestion

pytestmark = pytest.mark.e2e

BAD_CSV = ("题型,题干,选项A,选项B,选项C,答案,解析\n"
           "单选,安全出口可以上锁吗？,可以,不可以,视情况,B,疏散通道和安全出口必须保持畅通\n"
           "单选,受限空间作业前必须先做什么？,通风检测,直接进入,,E,先通风、再检测、后作业\n")


def _good_xlsx() -> bytes:
    questions = [
        ParsedQuestion("single", "浏览器导入测试：灭火器压力表指针应位于哪个区域？", ["红区", "绿区", "黄区"], "B",
                       explanation="绿区表示压力正常", source="消防常识", difficulty=1, tags=["消防"]),
        ParsedQuestion("multiple", "浏览器导入测试：以下哪些属于特种作业？", ["电工作业", "焊接与热切割作业", "保洁"], "AB",
                       explanation="保洁不属于特种作业", source="特种作业目录", difficulty=2),
        ParsedQuestion("truefalse", "浏览器导入测试：<b>发现火灾</b>应立即拨打 119。", [], "T",
                       explanation="报警越早越好", source="消防法"),
    ]
    return formats.export(questions, "xlsx")


def _upload(page, base, name, data, mime, bank_name=""):
    page.goto(f"{base}/banks/import")
    page.set_input_files("input[name=file]", files=[{"name": name, "mimeType": mime, "buffer": data}])
    if bank_name:
        page.fill("input[name=new_bank_name]", bank_name)
    page.click("#upload-form [type=submit]")
    page.wait_for_url(f"{base}/banks/import/*")


def test_trainer_imports_a_bank_in_the_browser(live_server, page):
    sign_in(page, live_server, "trainer")

    _upload(page, live_server, "坏题库.csv", BAD_CSV.encode("utf-8"), "text/csv", "浏览器测试题库")
    problems = page.locator("#import-problems")
    assert problems.is_visible()
    assert "第 3 行" in problems.inner_text() and "E" in problems.inner_text()
    assert page.locator("#confirm-form").count() == 0

    _upload(page, live_server, "题库.xlsx", _good_xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "浏览器测试题库")
    assert "读取 3 题" in page.locator("#preview-summary").inner_text()
    assert page.locator("#preview-questions > li").count() == 3
    # Markup in a stem is shown as text, not rendered.
    assert "<b>发现火灾</b>" in page.locator("#preview-questions").inner_text()
    page.click("#confirm-form [type=submit]")
    page.wait_for_url(f"{live_server}/banks/*")
    assert page.locator("#bank-name").inner_text().startswith("浏览器测试题库")
    assert page.locator("#questions > li").count() == 3
    assert "在用 3 题" in page.locator("#bank-counts").inner_text()

    # The same file again: all three are flagged as duplicates and nothing new is added.
    page.goto(f"{live_server}/banks/import")
    page.select_option("select[name=bank_id]", label="浏览器测试题库")
    page.set_input_files("input[name=file]", files=[{"name": "题库.xlsx", "buffer": _good_xlsx(),
                                                      "mimeType": "application/octet-stream"}])
    page.click("#upload-form [type=submit]")
    page.wait_for_url(f"{live_server}/banks/import/*")
    assert page.locator(".duplicate-flag").count() == 3
