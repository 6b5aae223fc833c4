"""Import of drill records and of participant lists: template, preview, row errors, all or nothing."""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from
from tests.drills.helpers import make_drill
from trainapp.drills import importer, service
from trainapp.drills.models import Drill, DrillParticipant

HEADERS = ["统一社会信用代码", "单位名称", "演练日期", "演练类型", "演练场景", "组织人", "在岗人数", "参演人数",
           "主要负责人签字", "签字日期", "参与部门", "疏散用时", "发现的问题", "整改措施", "需要修订预案",
           "修订完成日期", "修订内容"]


def xlsx(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def row(ent, held_on, kind="全员疏散逃生", on_duty=30, participants=28, **kw):
    values = {"统一社会信用代码": ent.credit_code, "单位名称": ent.name, "演练日期": held_on, "演练类型": kind,
              "演练场景": "车间起火疏散", "组织人": "李四", "在岗人数": on_duty, "参演人数": participants,
              "主要负责人签字": "王总", "签字日期": held_on, "参与部门": "一车间", "疏散用时": "2分30秒",
              "发现的问题": "", "整改措施": "", "需要修订预案": "否", "修订完成日期": None, "修订内容": None}
    values.update(kw)
    return [values[h] for h in HEADERS]


def upload(client, data: bytes, url="/drills/import", filename="drills.xlsx"):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_from(page.text), "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def confirm_url(html: str) -> str:
    import re

    return re.search(r'action="(/drills/[^"]*import/[^"]+|/drills/\d+/people/[^"]+)"', html).group(1)


def confirm(client, preview_html: str):
    return client.post(confirm_url(preview_html), data={"csrf_token": csrf_from(preview_html)})


def count(db) -> int:
    return db.session.scalar(select(func.count(Drill.id)))


def test_template_has_the_required_headers(world, client, login):
    login("manager_a")
    resp = client.get("/drills/template.xlsx")
    assert resp.status_code == 200
    headers = [c.value for c in next(load_workbook(io.BytesIO(resp.data)).active.iter_rows(max_row=1))]
    assert set(importer.REQUIRED) <= set(headers)


def test_import_previews_then_writes_every_row(world, db, client, login):
    login("manager_a")
    d1, d2 = dt.date(2025, 3, 5), dt.date(2025, 9, 12)
    data = xlsx([row(world.ent_a1, d1), row(world.ent_a2, d2, kind="消防", 需要修订预案="是", 修订完成日期=d2,
                                                 修订内容="调整集合点")])
    preview = upload(client, data)
    assert preview.status_code == 200 and 'id="import-ok"' in preview.text
    assert count(db) == 0  # nothing written by the preview
    resp = confirm(client, preview.text)
    assert resp.status_code == 302
    drills = db.session.scalars(select(Drill).order_by(Drill.held_on)).all()
    assert [(d.enterprise_id, d.held_on, d.kind, d.source) for d in drills] == [
        (world.ent_a1.id, d1, "evacuation", "import"), (world.ent_a2.id, d2, "fire", "import")]
    assert drills[0].evacuation_seconds == 150 and drills[0].revision_state is None
    assert (drills[1].revision_state, drills[1].revision_closed_on, drills[1].revision_notes) == (
        "closed", d2, "调整集合点")
    # the same file again: every row is a duplicate now
    again = upload(client, data)
    assert "不能重复导入" in again.text and count(db) == 2
    # the confirmation cannot be replayed
    assert confirm(client, preview.text).status_code == 302 and count(db) == 2


def test_row_errors_are_numbered_and_nothing_is_written(world, db, client, login):
    login("manager_a")
    future = dt.date.today() + dt.timedelta(days=5)
    good = dt.date(2025, 3, 5)
    data = xlsx([
        row(world.ent_a1, good),                                   # row 2: fine
        row(world.ent_a1, future),                                 # row 3: in the future
        row(world.ent_a2, good, on_duty=10, participants=12),      # row 4: above headcount
        row(world.ent_b1, good),                                   # row 5: not the manager's street
        row(world.ent_a1, good),                                   # row 6: same drill as row 2
        row(world.ent_a2, good, 演练场景=""),                        # row 7: missing field
        row(world.ent_a2, "2025-02-30", kind="跑步"),               # row 8: bad date and kind
    ])
    preview = upload(client, data)
    text = preview.text
    assert 'id="import-errors"' in text and 'id="confirm-form"' not in text
    assert "第 3 行" in text and "演练日期不能晚于今天" in text
    assert "第 4 行" in text and "参演人数（12）不能超过在岗人数（10）" in text
    assert "第 5 行" in text and "不是您可登记的单位" in text
    assert "第 6 行" in text and "与第 2 行是同一次演练" in text
    assert "第 7 行" in text and "“演练场景”不能为空" in text
    assert "第 8 行" in text and "无法识别" in text and "演练类型“跑步”" in text
    assert "第 2 行" not in text.split("与第 2 行")[0]
    assert count(db) == 0


def test_confirm_is_all_or_nothing_when_a_drill_appears_meanwhile(world, db, client, login):
    login("entadmin_a1")
    d1, d2 = dt.date(2025, 3, 5), dt.date(2025, 4, 5)
    preview = upload(client, xlsx([row(world.ent_a1, d1), row(world.ent_a1, d2)]))
    assert 'id="import-ok"' in preview.text
    make_drill(world.ent_a1, d2)  # entered by hand between the preview and the confirmation
    db.session.commit()
    resp = confirm(client, preview.text)
    assert resp.status_code == 200 and "不能重复导入" in resp.text
    assert count(db) == 1


def test_not_a_spreadsheet(world, db, client, login):
    login("manager_a")
    resp = upload(client, b"%PDF-1.4 not a table", filename="drills.xlsx")
    assert resp.status_code == 200 and 'id="import-errors"' in resp.text
    resp = upload(client, xlsx([], headers=["名称", "日期"]))
    assert "缺少必需的列" in resp.text


def test_participant_list_reaches_the_person_archive(world, db, client, login):
    drill = make_drill(world.ent_a1, service.today(), participants=1, headcount_on_duty=5, scenario="粉尘爆炸疏散")
    db.session.commit()
    learner = world.users["learner"].person
    login("entadmin_a1")
    url = f"/drills/{drill.id}/people"
    bad = upload(client, xlsx([["甲一员工", world.staff_a1.mobile], ["乙一员工", world.staff_b1.mobile],
                               ["张冒名", learner.mobile]], headers=["姓名", "手机号"]), url=url)
    assert "第 3 行" in bad.text and "不是本单位人员" in bad.text and "第 4 行" in bad.text and "姓名" in bad.text
    assert db.session.scalar(select(func.count(DrillParticipant.id))) == 0
    preview = upload(client, xlsx([["甲一员工", world.staff_a1.mobile], [learner.name, learner.mobile]],
                                  headers=["姓名", "手机号"]), url=url)
    assert 'id="import-ok"' in preview.text
    assert confirm(client, preview.text).status_code == 302
    assert db.session.scalar(select(func.count(DrillParticipant.id))) == 2
    db.session.expire_all()
    assert db.session.get(Drill, drill.id).participants == 2  # raised to the number recorded by name
    page = client.get(f"/archive/people/{world.staff_a1.id}").text
    assert 'id="person-drills"' in page and "粉尘爆炸疏散" in page
    # more people than were on duty is refused
    more = [factories.person(world.ent_a1, f"新员工{i}") for i in range(4)]
    db.session.commit()
    resp = upload(client, xlsx([[p.name, p.mobile] for p in more], headers=["姓名", "手机号"]), url=url)
    assert "将超过本次演练的在岗人数（5 人）" in resp.text
    ok = upload(client, xlsx([[p.name, p.mobile] for p in more[:3]], headers=["姓名", "手机号"]), url=url)
    assert 'id="import-ok"' in ok.text


def test_other_streets_cannot_import_participants(world, db, client, login):
    drill = make_drill(world.ent_a1, service.today())
    db.session.commit()
    login("manager_b")
    assert client.get(f"/drills/{drill.id}/people").status_code == 404
