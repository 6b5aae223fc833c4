"""Import of drill records (from paper forms a street collects) and of a drill's participant list.

Both read xlsx or CSV with Chinese headers, check every row before anything is written, and are
applied in one transaction: all rows or none.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select, tuple_

from trainapp.drills import operations
from trainapp.drills.forms import KIND_LABELS, KIND_WORDS, parse_duration, value_problems
from trainapp.drills.models import Drill, DrillParticipant
from trainapp.extensions import db
from trainapp.org.models import Enterprise, Person
from trainapp.org.validators import mobile_problem
from trainapp.tabular import TableError, parse_date, read_table

REQUIRED = ["统一社会信用代码", "演练日期", "演练类型", "演练场景", "组织人", "在岗人数", "参演人数", "主要负责人签字",
            "签字日期"]
OPTIONAL = ["单位名称", "参与部门", "疏散用时", "发现的问题", "整改措施", "需要修订预案", "修订完成日期", "修订内容"]
ALIASES = {"信用代码": "统一社会信用代码", "社会信用代码": "统一社会信用代码", "日期": "演练日期", "类型": "演练类型",
           "场景": "演练场景", "演练内容": "演练场景", "组织者": "组织人", "参演人员数": "参演人数", "参加人数": "参演人数",
           "在岗人员数": "在岗人数", "主要负责人": "主要负责人签字", "负责人签字": "主要负责人签字", "问题": "发现的问题",
           "存在问题": "发现的问题", "措施": "整改措施", "是否需要修订预案": "需要修订预案", "是否修订预案": "需要修订预案",
           "单位": "单位名称", "疏散时间": "疏散用时"}
YES = {"是", "需要", "y", "yes", "true", "1", "√"}
NO = {"", "否", "不需要", "无", "n", "no", "false", "0"}
PEOPLE_HEADERS = ["姓名", "手机号"]
PEOPLE_ALIASES = {"手机": "手机号", "手机号码": "手机号", "联系电话": "手机号", "名字": "姓名"}


@dataclass
class ImportResult:
    rows: list = field(default_factory=list)
    errors: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


@dataclass
class DrillRow:
    row: int
    enterprise_id: int
    enterprise_name: str
    values: dict


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "演练记录"
    ws.append(REQUIRED[:1] + ["单位名称"] + REQUIRED[1:] + [h for h in OPTIONAL if h != "单位名称"])
    ws.append(["（示例，请删除本行）913101150000000000", "示例企业", "2025-05-20", "全员疏散逃生", "仓库起火全员疏散",
               "张三", 50, 48, "张主任", "2025-05-21", "生产部、仓储部", "3:25", "东侧楼梯疏散指示灯损坏",
               "已更换指示灯", "否", "", ""])
    for col in "ABCDEFGHIJKLMNOPQ":
        ws.column_dimensions[col].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _int(text: str) -> int | None:
    text = (text or "").strip()
    if text.endswith("人"):
        text = text[:-1]
    return int(text) if text.isdigit() else None


def parse_drills(data: bytes, filename: str, user, editable, on: dt.date) -> ImportResult:
    """Read and check every row; nothing is written. `editable` is the criterion on Enterprise the user may edit."""
    result = ImportResult()
    try:
        table = read_table(data, filename, REQUIRED, OPTIONAL, ALIASES)
    except TableError as exc:
        result.errors.append((None, str(exc)))
        return result
    if not table.rows:
        result.errors.append((None, _("文件中没有数据行")))
        return result
    codes = {v["统一社会信用代码"].strip().upper() for _n, v in table.rows if v["统一社会信用代码"].strip()}
    ents: dict[str, Enterprise] = {}
    code_list = sorted(codes)
    for start in range(0, len(code_list), 900):
        for e in db.session.scalars(select(Enterprise).where(Enterprise.credit_code.in_(code_list[start:start + 900]),
                                                             editable)):
            ents[e.credit_code] = e
    seen: dict[tuple[int, dt.date, str], int] = {}
    for number, v in table.rows:
        row_errors, parsed = _parse_row(v, ents, on)
        if parsed is not None:
            key = (parsed.enterprise_id, parsed.values["held_on"], parsed.values["kind"])
            if key in seen:
                row_errors.append(_("与第 %(row)d 行是同一次演练（同一单位、同一日期、同一类型）", row=seen[key]))
            else:
                seen[key] = number
                parsed.row = number
                result.rows.append(parsed)
        result.errors.extend((number, msg) for msg in row_errors)
    if result.rows:
        keys = list(seen)
        existing = set()
        for start in range(0, len(keys), 300):
            existing |= set(db.session.execute(select(Drill.enterprise_id, Drill.held_on, Drill.kind).where(
                tuple_(Drill.enterprise_id, Drill.held_on, Drill.kind).in_(keys[start:start + 300]))).all())
        for row in result.rows:
            if (row.enterprise_id, row.values["held_on"], row.values["kind"]) in existing:
                result.errors.append((row.row, _("%(name)s %(date)s 的%(kind)s已登记，不能重复导入",
                                                 name=row.enterprise_name, date=row.values["held_on"],
                                                 kind=KIND_LABELS[row.values["kind"]])))
    result.errors.sort(key=lambda e: e[0] or 0)
    return result


def _parse_row(v: dict, ents: dict[str, Enterprise], on: dt.date) -> tuple[list[str], DrillRow | None]:
    errors: list[str] = []
    for header in REQUIRED:
        if not v.get(header, "").strip():
            errors.append(_("“%(col)s”不能为空", col=header))
    code = v["统一社会信用代码"].strip().upper()
    ent = ents.get(code)
    if code and ent is None:
        errors.append(_("统一社会信用代码 %(code)s 不是您可登记的单位", code=code))
    held_on = parse_date(v["演练日期"]) if v["演练日期"].strip() else None
    if v["演练日期"].strip() and held_on is None:
        errors.append(_("演练日期“%(text)s”无法识别", text=v["演练日期"]))
    kind = KIND_WORDS.get(v["演练类型"].strip()) or (v["演练类型"].strip() if v["演练类型"].strip() in KIND_LABELS else None)
    if v["演练类型"].strip() and kind is None:
        errors.append(_("演练类型“%(text)s”应为 全员疏散逃生、消防、专项应急预案 或 其他", text=v["演练类型"]))
    on_duty, participants = _int(v["在岗人数"]), _int(v["参演人数"])
    if v["在岗人数"].strip() and not on_duty:
        errors.append(_("在岗人数应为正整数"))
    if v["参演人数"].strip() and not participants:
        errors.append(_("参演人数应为正整数"))
    try:
        seconds = parse_duration(v.get("疏散用时"))
    except ValueError:
        seconds = None
        errors.append(_("疏散用时“%(text)s”无法识别", text=v.get("疏散用时")))
    signed_on = parse_date(v["签字日期"]) if v["签字日期"].strip() else None
    if v["签字日期"].strip() and signed_on is None:
        errors.append(_("签字日期“%(text)s”无法识别", text=v["签字日期"]))
    revise_text = (v.get("需要修订预案") or "").strip().lower()
    if revise_text not in YES | NO:
        errors.append(_("“需要修订预案”应填 是 或 否"))
    closed_text = (v.get("修订完成日期") or "").strip()
    closed_on = parse_date(closed_text) if closed_text else None
    if closed_text and closed_on is None:
        errors.append(_("修订完成日期“%(text)s”无法识别", text=closed_text))
    if closed_text and revise_text not in YES:
        errors.append(_("填写了修订完成日期，“需要修订预案”应为 是"))
    state = ("closed" if closed_on else "open") if revise_text in YES else None
    values = {"held_on": held_on, "kind": kind, "scenario": v["演练场景"].strip()[:500],
              "organiser": v["组织人"].strip()[:100], "departments": (v.get("参与部门") or "").strip()[:500],
              "participants": participants, "headcount_on_duty": on_duty, "evacuation_seconds": seconds,
              "problems": (v.get("发现的问题") or "").strip(), "measures": (v.get("整改措施") or "").strip(),
              "revision_state": state, "revision_closed_on": closed_on,
              "revision_notes": (v.get("修订内容") or "").strip(), "signed_by": v["主要负责人签字"].strip()[:50],
              "signed_on": signed_on}
    unreadable = {"evacuation_seconds": 0} if seconds is None and (v.get("疏散用时") or "").strip() else {}
    errors.extend(msg for _f, msg in value_problems({**values, **unreadable}, on, ent.headcount if ent else None))
    if errors or ent is None:
        return errors, None
    return errors, DrillRow(0, ent.id, ent.name, values)


def apply_drills(result: ImportResult, user_id: int) -> list[Drill]:
    """Write checked rows in the caller's transaction."""
    assert result.ok
    drills = []
    for row in result.rows:
        drill = Drill(enterprise_id=row.enterprise_id, source="import", created_by_id=user_id)
        operations.apply_values(drill, row.values)
        db.session.add(drill)
        drills.append(drill)
    db.session.flush()
    return drills


# --- participant lists -----------------------------------------------------------------------

@dataclass
class PersonRow:
    row: int
    name: str
    mobile: str
    person_id: int


def people_template_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "参演人员"
    ws.append(PEOPLE_HEADERS)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parse_people(data: bytes, filename: str, drill: Drill) -> ImportResult:
    """Match (name, mobile) rows to active staff of the drill's enterprise not yet recorded."""
    result = ImportResult()
    try:
        table = read_table(data, filename, PEOPLE_HEADERS, [], PEOPLE_ALIASES)
    except TableError as exc:
        result.errors.append((None, str(exc)))
        return result
    if not table.rows:
        result.errors.append((None, _("文件中没有数据行")))
        return result
    seen: dict[str, int] = {}
    wanted = []
    for number, v in table.rows:
        name, mobile = v["姓名"].strip(), v["手机号"].replace(" ", "").replace("-", "")
        if not name:
            result.errors.append((number, _("姓名不能为空")))
        if problem := mobile_problem(mobile):
            result.errors.append((number, problem))
        elif mobile in seen:
            result.errors.append((number, _("手机号与第 %(row)d 行重复", row=seen[mobile])))
        else:
            seen[mobile] = number
            if name:
                wanted.append((number, name, mobile))
    mobiles = [m for _n, _name, m in wanted]
    people: dict[str, Person] = {}
    for start in range(0, len(mobiles), 900):
        for p in db.session.scalars(select(Person).where(Person.mobile.in_(mobiles[start:start + 900]),
                                                         Person.enterprise_id == drill.enterprise_id)):
            people[p.mobile] = p
    recorded = set(db.session.scalars(select(DrillParticipant.person_id).where(DrillParticipant.drill_id == drill.id)))
    for number, name, mobile in wanted:
        person = people.get(mobile)
        if person is None:
            result.errors.append((number, _("手机号 %(mobile)s 不是本单位人员", mobile=mobile)))
        elif person.name.replace(" ", "") != name.replace(" ", ""):
            result.errors.append((number, _("姓名“%(name)s”与手机号 %(mobile)s 登记的姓名不一致", name=name,
                                            mobile=mobile)))
        elif person.status != "active":
            result.errors.append((number, _("%(name)s 不是在职人员", name=person.name)))
        elif person.id in recorded:
            result.errors.append((number, _("%(name)s 已登记参加本次演练", name=person.name)))
        else:
            result.rows.append(PersonRow(number, person.name, mobile, person.id))
    total = len(recorded) + len(result.rows)
    if result.rows and total > drill.headcount_on_duty:
        result.errors.append((None, _("登记的参演人员（%(n)d 人）将超过本次演练的在岗人数（%(h)d 人）", n=total,
                                      h=drill.headcount_on_duty)))
    result.errors.sort(key=lambda e: e[0] or 0)
    return result


def apply_people(result: ImportResult, drill: Drill) -> int:
    assert result.ok
    count = 0
    for row in result.rows:
        if operations.add_participant(drill, db.session.get(Person, row.person_id), "import"):
            count += 1
    return count
