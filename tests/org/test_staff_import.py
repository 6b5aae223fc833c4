"""Bulk staff import: template, preview with row-numbered errors, all-or-nothing confirm."""
import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from trainapp.audit import AuditEvent
from trainapp.org.models import Department, Person
from tests.conftest import post_form

HEADERS = ["姓名", "手机号", "身份证号", "人员类别", "用工形式", "部门", "入职日期"]


def xlsx(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rows(n, start=0):
    return [[f"员工{i}", f"135{i:08d}", "", "其他从业人员", "劳务派遣", "二车间", "2023-05-01"]
            for i in range(start, start + n)]


@pytest.fixture
def as_entadmin(world, login):
    login("entadmin_a1")
    return world


def upload(client, ent_id, data: bytes, name="staff.xlsx"):
    return post_form(client, f"/org/enterprises/{ent_id}/import",
                     {"file": (io.BytesIO(data), name)}, page_url=f"/org/enterprises/{ent_id}/import",
                     content_type="multipart/form-data")


def confirm(client, ent_id, preview_html):
    token = re.search(r"/import/([A-Za-z0-9_-]+)\"", preview_html).group(1)
    return post_form(client, f"/org/enterprises/{ent_id}/import/{token}", {},
                     page_url=f"/org/enterprises/{ent_id}/import")


def count(db, ent_id):
    return db.session.scalar(select(func.count(Person.id)).where(Person.enterprise_id == ent_id))


def test_template_has_the_chinese_headers(as_entadmin, client):
    resp = client.get("/org/staff-template.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert [c.value for c in ws[1]] == HEADERS


def test_good_file_previews_then_imports_once(as_entadmin, client, db):
    ent = as_entadmin.ent_a1
    before = count(db, ent.id)
    resp = upload(client, ent.id, xlsx(rows(30)))
    assert "全部通过检查" in resp.text
    assert count(db, ent.id) == before  # preview writes nothing
    assert confirm(client, ent.id, resp.text).status_code == 302
    assert count(db, ent.id) == before + 30
    assert db.session.scalar(select(Department).where(Department.name == "二车间")) is not None
    p = db.session.scalar(select(Person).where(Person.mobile == "13500000003"))
    assert p.employment_type == "dispatched" and p.audience == "staff" and str(p.joined_on) == "2023-05-01"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import_staff")) is not None


def test_reimport_updates_instead_of_duplicating(as_entadmin, client, db):
    ent = as_entadmin.ent_a1
    confirm(client, ent.id, upload(client, ent.id, xlsx(rows(5))).text)
    changed = rows(5)
    changed[0][3] = "安全生产管理人员"
    resp = upload(client, ent.id, xlsx(changed))
    assert "新增 0 人，更新 5 人" in resp.text
    confirm(client, ent.id, resp.text)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Person.id)).where(Person.mobile.like("1350000000%"))) == 5
    assert db.session.scalar(select(Person).where(Person.mobile == "13500000000")).audience == "safety_manager"


def test_gbk_csv_from_chinese_excel(as_entadmin, client, db):
    text = ",".join(HEADERS) + "\r\n" + "李四,13511112222,,特种作业人员,正式员工,,\r\n"
    resp = upload(client, as_entadmin.ent_a1.id, text.encode("gbk"), "名单.csv")
    assert "全部通过检查" in resp.text and "李四" in resp.text


def test_one_bad_row_among_5000_imports_nothing(as_entadmin, client, db):
    ent = as_entadmin.ent_a1
    data = rows(5000)
    data[3456][1] = "2345"  # row 3458 in the sheet (header is row 1)
    before = count(db, ent.id)
    resp = upload(client, ent.id, xlsx(data))
    assert "第 3458 行" in resp.text and "手机号应为11位" in resp.text
    assert "/import/" not in re.sub(r'action="/org/enterprises/\d+/import"', "", resp.text)
    assert count(db, ent.id) == before


def test_huge_good_file_imports_in_one_go(as_entadmin, client, db):
    ent = as_entadmin.ent_a1
    resp = upload(client, ent.id, xlsx(rows(5000)))
    assert "共 5000 行" in resp.text
    confirm(client, ent.id, resp.text)
    assert count(db, ent.id) >= 5000


@pytest.mark.parametrize("data,name,message", [
    (b"", "staff.xlsx", "文件为空"),
    (b"this is plain text, not a workbook\n", "staff.xlsx", "不是 Excel"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "staff.csv", "不是 Excel"),
    ("姓名,电话\r\n张三,13500000000\r\n".encode(), "staff.csv", "缺少必需的列"),
    (",".join(HEADERS).encode() + b"\r\n", "staff.csv", "没有数据行"),
])
def test_whole_file_problems_get_a_clear_message(as_entadmin, client, db, data, name, message):
    resp = upload(client, as_entadmin.ent_a1.id, data, name)
    assert resp.status_code == 200
    assert message in resp.text


def test_row_problems_are_listed_by_row(as_entadmin, client, db):
    data = [
        ["", "13500000001", "", "其他从业人员", "", "", ""],                  # row 2: no name
        ["甲", "13500000002", "110101199003077777", "员工", "", "", ""],       # row 3: bad ID check digit
        ["乙", "13500000002", "", "员工", "", "", ""],                          # row 4: duplicate mobile
        ["丙", "13500000004", "", "厂长", "", "", ""],                          # row 5: unknown category
        ["丁", "13500000005", "", "员工", "月结", "", ""],                      # row 6: unknown employment
        ["戊", "13500000006", "", "员工", "", "", "2099-01-01"],                # row 7: future date
        ["己", as_entadmin.staff_b1.mobile, "", "员工", "", "", ""],            # row 8: other unit's mobile
    ]
    resp = upload(client, as_entadmin.ent_a1.id, xlsx(data))
    for row, text in [(2, "姓名不能为空"), (3, "校验位"), (4, "与第 3 行重复"), (5, "无法识别"),
                      (6, "用工形式"), (7, "不能晚于今天"), (8, "已登记在其他单位")]:
        assert re.search(rf"第 {row} 行：[^<]*{text}", resp.text), (row, text)


def test_preview_token_is_bound_to_user_and_enterprise(world, app, client, login, db):
    login("entadmin_a1")
    resp = upload(client, world.ent_a1.id, xlsx(rows(3)))
    token = re.search(r"/import/([A-Za-z0-9_-]+)\"", resp.text).group(1)
    # The same token against another enterprise of the same admin is refused (not in scope -> 404).
    assert post_form(client, f"/org/enterprises/{world.ent_b1.id}/import/{token}", {}).status_code == 404
    other = app.test_client()
    from tests.conftest import csrf_from
    from tests import factories
    other.post("/auth/login", data={"login": "manager_a", "password": factories.PASSWORD,
                                    "csrf_token": csrf_from(other.get("/auth/login").text)})
    resp = post_form(other, f"/org/enterprises/{world.ent_a1.id}/import/{token}", {})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/import")
    assert count(db, world.ent_a1.id) == 2  # the world's two people only


def test_a_crafted_far_away_cell_is_refused_not_fatal():
    """calamine aborts the process on a cell at XFD1048576; the staff reader must refuse first."""
    import subprocess
    import sys

    from tests.questionbank.test_formats_xlsx import SHEET1, rewrite

    data = rewrite(xlsx(rows(1)), SHEET1, lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    code = ("import sys; from trainapp.tabular import read_table, TableError\n"
            "try:\n read_table(sys.stdin.buffer.read(), 'a.xlsx', ['姓名'], [])\n print('READ')\n"
            "except TableError as e:\n print('REFUSED', e)")
    child = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, timeout=120)
    assert child.returncode == 0, child.stderr[-300:]
    assert child.stdout.decode().startswith("REFUSED")
