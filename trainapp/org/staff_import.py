"""Bulk import of an enterprise's staff from xlsx/csv: validate everything, then all or nothing."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import insert, select

from trainapp.audit import record
from trainapp.extensions import db
from trainapp.org.models import Department, Enterprise, Person
from trainapp.org.validators import id_number_problem, mobile_problem
from trainapp.tabular import Table, TableError, parse_date, read_table

HEADERS = ["姓名", "手机号", "身份证号", "人员类别", "用工形式", "部门", "入职日期"]
REQUIRED = ["姓名", "手机号", "人员类别"]
ALIASES = {"手机": "手机号", "手机号码": "手机号", "联系电话": "手机号", "身份证": "身份证号",
           "身份证号码": "身份证号", "类别": "人员类别", "岗位类别": "人员类别", "用工类型": "用工形式",
           "科室": "部门", "车间": "部门", "班组": "部门", "入职时间": "入职日期"}

AUDIENCE_WORDS = {
    "主要负责人": "principal", "负责人": "principal",
    "安全生产管理人员": "safety_manager", "安全管理人员": "safety_manager", "安全员": "safety_manager",
    "特种作业人员": "special_worker", "特种作业": "special_worker",
    "其他从业人员": "staff", "从业人员": "staff", "员工": "staff", "职工": "staff",
}
EMPLOYMENT_WORDS = {
    "": "regular", "正式": "regular", "正式员工": "regular", "合同制": "regular",
    "劳务派遣": "dispatched", "派遣": "dispatched",
    "灵活用工": "flexible", "临时": "flexible", "兼职": "flexible",
    "外包": "outsourced", "外包外租": "outsourced", "外租": "outsourced",
}
ENTERPRISE_AUDIENCES = ("principal", "safety_manager", "special_worker", "staff")


@dataclass
class StaffRow:
    row: int
    name: str
    mobile: str
    id_number: str | None
    audience: str
    employment_type: str
    department: str
    joined_on: dt.date | None
    existing_id: int | None = None


@dataclass
class StaffImport:
    rows: list[StaffRow] = field(default_factory=list)
    errors: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def new_count(self) -> int:
        return sum(1 for r in self.rows if r.existing_id is None)


def template_xlsx() -> bytes:
    """A blank staff template with the Chinese headers and one example row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "人员名单"
    ws.append(HEADERS)
    ws.append(["张三", "13800000000", "", "其他从业人员", "劳务派遣", "生产车间", "2024-03-01"])
    for col, width in zip("ABCDEFG", (10, 14, 22, 16, 12, 14, 12)):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parse_staff(data: bytes, filename: str, enterprise: Enterprise) -> StaffImport:
    """Read and check every row; nothing is written."""
    result = StaffImport()
    try:
        table = read_table(data, filename, REQUIRED, [h for h in HEADERS if h not in REQUIRED], ALIASES)
    except TableError as exc:
        result.errors.append((None, str(exc)))
        return result
    if not table.rows:
        result.errors.append((None, _("文件中没有数据行")))
        return result
    _check_rows(table, result)
    _check_against_registry(result, enterprise)
    return result


def _check_rows(table: Table, result: StaffImport) -> None:
    seen: dict[str, int] = {}
    for number, v in table.rows:
        problems = []
        name = v["姓名"]
        if not name:
            problems.append(_("姓名不能为空"))
        elif len(name) > 50:
            problems.append(_("姓名过长"))
        mobile = v["手机号"].replace(" ", "").replace("-", "")
        if (p := mobile_problem(mobile)):
            problems.append(p)
        elif mobile in seen:
            problems.append(_("手机号与第 %(row)d 行重复", row=seen[mobile]))
        else:
            seen[mobile] = number
        id_number = v.get("身份证号", "").upper() or None
        if id_number and (p := id_number_problem(id_number)):
            problems.append(p)
        audience = AUDIENCE_WORDS.get(v["人员类别"], v["人员类别"])
        if audience not in ENTERPRISE_AUDIENCES:
            problems.append(_("人员类别“%(value)s”无法识别，应为：主要负责人、安全生产管理人员、特种作业人员、其他从业人员",
                              value=v["人员类别"]))
        employment = EMPLOYMENT_WORDS.get(v.get("用工形式", ""), v.get("用工形式", ""))
        if employment not in ("regular", "dispatched", "flexible", "outsourced"):
            problems.append(_("用工形式“%(value)s”无法识别，应为：正式员工、劳务派遣、灵活用工、外包外租",
                              value=v.get("用工形式", "")))
        joined = None
        if v.get("入职日期"):
            joined = parse_date(v["入职日期"])
            if joined is None:
                problems.append(_("入职日期“%(value)s”不是有效日期", value=v["入职日期"]))
            elif joined > dt.date.today():
                problems.append(_("入职日期不能晚于今天"))
        department = v.get("部门", "")
        if len(department) > 60:
            problems.append(_("部门名称过长"))
        for p in problems:
            result.errors.append((number, p))
        if not problems:
            result.rows.append(StaffRow(number, name, mobile, id_number, audience, employment, department, joined))


def _check_against_registry(result: StaffImport, enterprise: Enterprise) -> None:
    """Match mobiles already in the registry: same enterprise updates, another unit is an error."""
    by_mobile = {r.mobile: r for r in result.rows}
    mobiles = list(by_mobile)
    for start in range(0, len(mobiles), 900):
        chunk = mobiles[start:start + 900]
        for pid, mobile, ent_id in db.session.execute(
                select(Person.id, Person.mobile, Person.enterprise_id).where(Person.mobile.in_(chunk))):
            row = by_mobile[mobile]
            if ent_id == enterprise.id:
                row.existing_id = pid
            else:
                result.errors.append((row.row, _("手机号 %(mobile)s 已登记在其他单位", mobile=mobile)))
    result.errors.sort(key=lambda e: (e[0] or 0))


def apply_staff(result: StaffImport, enterprise: Enterprise) -> int:
    """Write a checked import in the caller's transaction; returns rows written."""
    assert result.ok
    departments = {d.name: d.id for d in enterprise.departments}
    for name in sorted({r.department for r in result.rows if r.department} - departments.keys()):
        dep = Department(enterprise_id=enterprise.id, name=name)
        db.session.add(dep)
        db.session.flush()
        departments[name] = dep.id
    new_rows, updates = [], []
    for r in result.rows:
        values = {"name": r.name, "mobile": r.mobile, "id_number": r.id_number, "audience": r.audience,
                  "employment_type": r.employment_type, "department_id": departments.get(r.department),
                  "joined_on": r.joined_on, "enterprise_id": enterprise.id, "status": "active"}
        if r.existing_id is None:
            new_rows.append(values)
        else:
            updates.append({"id": r.existing_id, **values})
    if new_rows:
        db.session.execute(insert(Person), new_rows)
    if updates:
        db.session.execute(db.update(Person), updates)
    record("import_staff", enterprise, summary=_("导入 %(new)d 人，更新 %(updated)d 人",
                                                 new=len(new_rows), updated=len(updates)),
           new=len(new_rows), updated=len(updates))
    return len(new_rows) + len(updates)
