"""A street manager opens the principals' matrix, follows a red cell down to the missing principals, downloads them."""
import io

import pytest
from openpyxl import load_workbook

from tests.e2e.test_roles_in_browser import sign_in

pytestmark = pytest.mark.e2e


def test_manager_drills_down_from_a_red_cell_to_missing_principals(live_server, page):
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/coverage/")
    assert page.locator("#measure-principals").is_visible()
    assert page.locator("#bar-chart svg").count() == 1
    page.locator("#measure-principals a", has_text="分街镇/行业").click()
    page.wait_for_selector("#matrix")
    red = page.locator("#matrix td.cell-overdue a").first
    red.click()
    page.wait_for_selector("#unit-table")
    page.locator("#unit-table .missing-link").first.click()
    page.wait_for_selector("#missing-table")
    names = page.locator("#missing-table td.person-name").all_inner_texts()
    assert names, "a red cell has somebody missing"
    with page.expect_download() as info:
        page.click("#missing-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as fh:
        ws = load_workbook(io.BytesIO(fh.read())).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert sorted(r[2] for r in rows) == sorted(names)
    assert all(r[4] == "主要负责人" for r in rows)
