"""Coverage pages, drill-down, exports read back (xlsx, CSV, PDF) and settings, through the web client."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import post_form
from tests.coverage.helpers import build
from trainapp.coverage import service
from trainapp.extensions import db


@pytest.fixture
def data(world):
    return build(world)


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def test_dashboard_shows_every_measure_with_status_and_charts(client, login, world, data):
    login("admin")
    resp = client.get("/coverage/?year=2025")
    assert resp.status_code == 200
    html = resp.text
    row = html[html.index('id="measure-principals"'):html.index('id="measure-safety_managers"')]
    assert "25.0%" in row and "逾期未达标" in row  # 100 % was due by 2024-12-31
    leaders = html[html.index('id="measure-leaders"'):html.index('id="measure-permits"')]
    assert "暂无数据" in leaders and "0.0%" not in leaders
    assert html.count("<svg") == 1 and 'class="bar"' in html
    assert "下一期月报截止日期" in html
    trend = client.get("/coverage/?year=2025&trend=staff").text
    # January 2025 has no training record yet: a gap, not a point at 0 %.
    assert trend.count("<svg") == 2 and trend.count('class="point"') == 11


def test_matrix_is_scoped_and_links_down_to_people(client, login, world, data):
    login("manager_a")
    html = client.get("/coverage/matrix/principals?year=2025").text
    assert "甲街道" in html and "乙镇" not in html
    # Street A's 工贸 cell: one principal of two covered, overdue against the 2024 target.
    cell = re.search(r'<td class="cell cell-(\w+)" data-status="\w+">\s*<a href="([^"]+)">', html)
    assert cell.group(1) == "overdue"
    units = client.get(cell.group(2).replace("&amp;", "&")).text
    assert "甲街道粉尘企业" in units and "乙镇机械企业" not in units
    link = re.search(r'class="btn btn-sm btn-outline-secondary missing-link" href="([^"]+)"', units).group(1)
    missing = client.get(link.replace("&amp;", "&")).text
    assert "学员甲" in missing and "未参加培训" in missing and "主要负责人甲" not in missing


def test_unit_outside_scope_is_404_and_learners_are_refused(client, login, world, data):
    login("manager_b")
    assert client.get(f"/coverage/matrix/principals/missing?year=2025&unit={world.ent_a1.id}").status_code == 404
    assert client.get(f"/coverage/matrix/principals/missing.csv?year=2025&unit={world.ent_a1.id}").status_code == 404
    assert client.get("/coverage/matrix/nonsense").status_code == 404
    post_form(client, "/auth/logout", {})
    login(world.users["learner"].mobile)
    assert client.get("/coverage/").status_code == 403


def test_missing_list_downloads_as_xlsx_and_csv(client, login, world, data):
    login("manager_district")
    resp = client.get("/coverage/matrix/staff/missing.xlsx?year=2025")
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("街镇", "单位", "姓名")
    by_name = {r[2]: r for r in rows[1:]}
    assert set(by_name) == {"甲二员工", "特种工二", "乙一员工"}
    assert by_name["甲二员工"][6] == "学时不足" and by_name["乙一员工"][0] == "乙镇"
    resp = client.get(f"/coverage/matrix/staff/missing.csv?year=2025&street={world.street_b.id}")
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [ln[2] for ln in lines[1:]] == ["乙一员工"]


def test_workbook_has_a_sheet_per_measure_and_the_missing_lists(client, login, world, data):
    login("admin")
    resp = client.get("/coverage/export.xlsx?year=2025")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames[0] == "汇总"
    summary = {r[0]: r for r in wb["汇总"].iter_rows(min_row=3, values_only=True)}
    assert summary["从业人员参加培训并达到年度学时"][1:4] == (8, 5, "62.5%")
    assert summary["党政领导干部年度专题培训"][3] in ("", None)
    staff_sheet = next(n for n in wb.sheetnames if n.startswith("从业人员参加培训") and "未覆盖" not in n)
    cells = [c for row in wb[staff_sheet].iter_rows(values_only=True) for c in row if c]
    assert "甲街道" in cells and "2/4 50.0%" in cells
    missing = next(n for n in wb.sheetnames if n.startswith("从业人员") and "未覆盖" in n)
    names = {r[2] for r in wb[missing].iter_rows(min_row=2, values_only=True)}
    assert names == {"甲二员工", "特种工二", "乙一员工"}


def test_monthly_report_pdf_reads_back(client, login, world, data):
    login("admin")
    service.set_setting("reporting_unit", "测试区安委办")
    service.set_setting("report_due_day", "5")
    db.session.commit()
    resp = client.get("/coverage/report.pdf?month=2025-12")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    assert "安全生产教育培训覆盖情况统计表" in text and "（2025年12月）" in text
    assert "填报单位：测试区安委办" in text
    assert "重点行业领域主要负责人培训并取得合格证明" in text and "25.0%" in text and "62.5%" in text
    assert "甲街道粉尘企业" in text  # listed among units with principals missing
    assert "每月5日前上报" in text


def test_settings_are_admin_only_and_validated(client, login, world, data):
    login("manager_a")
    assert client.get("/coverage/settings").status_code == 403
    post_form(client, "/auth/logout", {})
    login("admin")
    page = client.get("/coverage/settings")
    assert page.status_code == 200 and "重点行业领域主要负责人" in page.text
    bad = post_form(client, "/coverage/settings", {"report_due_day": "31", "key_sectors": ["industry_trade"]},
                    "/coverage/settings")
    assert bad.status_code == 200 and "is-invalid" in bad.text
    assert service.due_day() == 20
    ok = post_form(client, "/coverage/settings", {"report_due_day": "26", "reporting_unit": "甲街道",
                                                  "key_sectors": ["hazardous_chemicals"]}, "/coverage/settings")
    assert ok.status_code == 302
    assert service.due_day() == 26 and service.key_sector_ids() == [world.chem.id]
    resp = post_form(client, "/coverage/targets/permits", {"percent": "150"}, "/coverage/targets/permits")
    assert resp.status_code == 200 and "is-invalid" in resp.text
    resp = post_form(client, "/coverage/targets/permits", {"percent": "90", "due_on": "2026-06-30", "source": "区方案"},
                     "/coverage/targets/permits")
    assert resp.status_code == 302 and service.targets()["permits"].percent == 90


def test_manager_home_shows_when_the_next_report_is_due(client, login, world, data):
    login("manager_a")
    html = client.get("/home").text
    assert 'id="report-due"' in html
    assert str(service.next_report_due(service.today())) in html


def test_drill_measure_lists_late_enterprises(client, login, world, data):
    login("admin")
    html = client.get("/coverage/matrix/drills?year=2025").text
    assert 'id="matrix"' in html and "60.0%" in html  # 3 of 5 enterprises
    page = client.get("/coverage/matrix/drills/missing?year=2025").text
    assert "甲街道化工企业" in page and "从未演练" in page and "甲街道粉尘企业" not in page
    resp = client.get("/coverage/matrix/drills/missing.csv?year=2025")
    lines = list(csv.reader(io.StringIO(resp.data.decode("utf-8").lstrip("\ufeff"))))
    assert lines[0][:2] == ["街镇", "单位"] and sorted(ln[1] for ln in lines[1:]) == ["乙镇商场", "甲街道化工企业"]


def test_long_missing_lists_are_cut_in_the_workbook_with_a_pointer_to_the_csv(app, world, data):
    import os

    from tests.coverage.helpers import TODAY, YEAR
    from trainapp.coverage import exports
    from trainapp.coverage.measures import Period

    with app.test_request_context("/"):
        path = exports.workbook(world.users["admin"], Period.year_of(YEAR, TODAY), list_rows=2,
                                csv_url=lambda code: f"https://example.test/{code}.csv")
    try:
        wb = load_workbook(path)
    finally:
        os.unlink(path)
    sheet = next(n for n in wb.sheetnames if n.startswith("从业人员") and "未覆盖" in n)
    rows = list(wb[sheet].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3 and rows[0][2] and rows[1][2]
    assert "另有 1 条未列出" in rows[2][0] and rows[2][0].endswith("https://example.test/staff.csv")
