"""Classroom sessions (线下集中培训) and 跟班 sessions: the session, its sign-in QR, its attendees.

A trainer, a manager, an enterprise admin or (for 跟班 only) a regulator records a session: when,
where, who teaches, what, how many 学时, and which enterprise it belongs to (or none: a street's
own session open to everyone). Attendees are added three ways — scanning the sign-in QR on their
phones during the session's window, an imported list, or picked by hand — and every path goes
through `attend`, which writes one Attendance and one TrainingRecord (the archive line).

Who may manage a session is the same rule as who may create it: the session's unit (enterprise or
street) must be one the user could pick for that kind of session today.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload
from wtforms import DateTimeLocalField, FloatField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from trainapp import uploads
from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import enterprise_criterion, person_criterion, street_criterion
from trainapp.courses.models import Attendance, ClassroomSession, TrainingRecord
from trainapp.courses.service import correct, current_records
from trainapp.extensions import db, limiter
from trainapp.formutil import opts
from trainapp.models import utcnow
from trainapp.org.models import Enterprise, Person, Street
from trainapp.org.validators import mobile_problem
from trainapp.tabular import TableError, read_table

bp = Blueprint("classroom", __name__, url_prefix="/classroom")

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
SIGNIN_OPENS_BEFORE = dt.timedelta(minutes=30)
MAX_HOURS = 8.0
MAX_LENGTH = dt.timedelta(hours=24)
UPLOAD_KIND = "attendees"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

KINDS = ("classroom", "shadowing")
KIND_LABELS = {"classroom": _l("线下集中培训"), "shadowing": _l("跟班培训")}
METHOD_LABELS = {"qr": _l("扫码签到"), "import": _l("名单导入"), "manual": _l("手工添加")}
MANAGE_ROLES = ("admin", "trainer", "manager", "enterprise_admin", "regulator")
# Regulators record 跟班 sessions only.
ROLES_FOR_KIND = {"classroom": ("admin", "trainer", "manager", "enterprise_admin"), "shadowing": MANAGE_ROLES}
ANYWHERE_ROLES = ("admin", "trainer")

IMPORT_HEADERS = ["姓名", "手机号"]
IMPORT_ALIASES = {"手机": "手机号", "手机号码": "手机号", "联系电话": "手机号", "名字": "姓名"}
RECORD_RESULT = "出席"
CORRECTION_REASON = "课堂培训信息修改"


# --- time --------------------------------------------------------------------------

def aware(value: dt.datetime) -> dt.datetime:
    """Stored times are UTC; SQLite hands them back naive."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def local_date(moment: dt.datetime) -> dt.date:
    return aware(moment).astimezone(SHANGHAI).date()


def signin_window(sess: ClassroomSession) -> tuple[dt.datetime, dt.datetime]:
    """From 30 minutes before the start until the end."""
    return aware(sess.starts_at) - SIGNIN_OPENS_BEFORE, aware(sess.ends_at)


def window_state(sess: ClassroomSession, now: dt.datetime) -> str:
    """'early', 'open' or 'closed' for QR sign-in at `now`."""
    opens, closes = signin_window(sess)
    if now < opens:
        return "early"
    if now > closes:
        return "closed"
    return "open"


# --- scope -----------------------------------------------------------------------------

def _roles(user, kind: str | None) -> list[str]:
    wanted = ROLES_FOR_KIND[kind] if kind in ROLES_FOR_KIND else MANAGE_ROLES
    return [r for r in wanted if user.has_role(r)]


def _enterprise_scope(user, roles):
    if not roles:
        return false()
    if any(r in ANYWHERE_ROLES for r in roles):
        return true()
    return enterprise_criterion(user, roles)


def _street_scope(user, roles):
    """Streets whose own (street-level) sessions the user may run: managers' and regulators' areas."""
    if not roles:
        return false()
    if any(r in ANYWHERE_ROLES for r in roles):
        return true()
    crits = []
    for g in user.grants:
        if g.role not in roles or g.role not in ("manager", "regulator"):
            continue
        street_id = g.street_id or (g.agency.street_id if g.agency else None)
        district_id = g.district_id or (g.agency.district_id if g.agency else None)
        if street_id:
            crits.append(Street.id == street_id)
        elif district_id:
            crits.append(Street.district_id == district_id)
    return or_(*crits) if crits else false()


def unit_of(sess: ClassroomSession) -> str:
    return f"e:{sess.enterprise_id}" if sess.enterprise_id else f"s:{sess.street_id}"


def _parse_unit(unit: str | None) -> tuple[str, int] | None:
    if not unit or len(unit) < 3 or unit[1] != ":" or unit[0] not in "es" or not unit[2:].isdigit():
        return None
    return unit[0], int(unit[2:])


def unit_allowed(user, unit: str, kind: str) -> bool:
    """May `user` run a session of `kind` for this unit ('e:<enterprise id>' or 's:<street id>')?"""
    parsed = _parse_unit(unit)
    roles = _roles(user, kind)
    if parsed is None or not roles:
        return False
    what, ident = parsed
    if what == "e":
        return db.session.scalar(select(Enterprise.id).where(
            Enterprise.id == ident, _enterprise_scope(user, roles))) is not None
    return db.session.scalar(select(Street.id).where(Street.id == ident, _street_scope(user, roles))) is not None


def unit_choices(user, kind: str | None = None) -> list[tuple[str, str]]:
    """Units the user may pick (for any kind when `kind` is None): streets first, then enterprises."""
    roles = _roles(user, kind)
    streets = db.session.scalars(select(Street).where(_street_scope(user, roles)).order_by(Street.id)).all()
    ents = db.session.scalars(select(Enterprise).where(_enterprise_scope(user, roles))
                              .order_by(Enterprise.name, Enterprise.id)).all()
    return ([(f"s:{s.id}", _("%(street)s（街镇组织，不限单位）", street=s.name)) for s in streets]
            + [(f"e:{e.id}", e.name) for e in ents])


def may_manage(user, sess: ClassroomSession) -> bool:
    """Edit the session, see its QR, add attendees: whoever could create it now."""
    return unit_allowed(user, unit_of(sess), sess.kind)


def visible_criterion(user):
    """Sessions of enterprises in scope, street sessions of streets in scope, and what the user runs."""
    if user.has_role(*ANYWHERE_ROLES):
        return true()
    ents = select(Enterprise.id).where(enterprise_criterion(user))
    streets = select(Street.id).where(street_criterion(user))
    return or_(ClassroomSession.enterprise_id.in_(ents),
               and_(ClassroomSession.enterprise_id.is_(None), ClassroomSession.street_id.in_(streets)),
               ClassroomSession.created_by_id == user.id)


def _reach(user):
    """People the user may add to a street session by mobile."""
    if user.has_role(*ANYWHERE_ROLES):
        return true()
    crits = [person_criterion(user)]
    agencies = [g.agency_id for g in user.grants if g.role == "regulator" and g.agency_id]
    if agencies:
        crits.append(Person.agency_id.in_(agencies))
    return or_(*crits)


def attendee_criterion(sess: ClassroomSession, user):
    """Who `user` may record as attending: the enterprise's staff (and, for 跟班, agency staff in reach),
    or for a street session anyone in the user's reach."""
    if sess.enterprise_id is None:
        return _reach(user)
    crit = Person.enterprise_id == sess.enterprise_id
    if sess.kind == "shadowing":
        crit = or_(crit, and_(Person.agency_id.is_not(None), _reach(user)))
    return crit


# --- attendance (every path comes through here) ---------------------------------------

def record_values(sess: ClassroomSession) -> dict:
    """What the archive line says about the session."""
    return {"title": sess.title, "content": sess.content or "", "hours": sess.hours, "teacher": sess.teacher or "",
            "occurred_on": local_date(sess.starts_at)}


def _attended(session_id: int, person_id: int) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(Attendance.session_id == session_id,
                                                      Attendance.person_id == person_id))


def attend(sess: ClassroomSession, person: Person, method: str, by=None,
           now: dt.datetime | None = None) -> Attendance | None:
    """Record that `person` attended: one Attendance and one TrainingRecord. None if already recorded.

    The unique constraint on (session, person) settles two requests racing each other: the loser's
    INSERT ... ON CONFLICT DO NOTHING inserts nothing and it reports "already", writing no second
    record. (Not a savepoint: with pysqlite, releasing a savepoint that began the transaction
    commits it, which would break the all-or-nothing import.)
    """
    if _attended(sess.id, person.id) is not None:
        return None
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    attendance_id = db.session.scalar(
        insert(Attendance).values(session_id=sess.id, person_id=person.id, method=method, at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["session_id", "person_id"]).returning(Attendance.id))
    if attendance_id is None:
        return None
    db.session.add(TrainingRecord(
        person_id=person.id, enterprise_id=person.enterprise_id, kind="classroom", session_id=sess.id,
        result=RECORD_RESULT, created_by_id=by.id if by is not None else None, **record_values(sess)))
    db.session.flush()
    return db.session.get(Attendance, attendance_id)


def who_refusal(sess: ClassroomSession, person: Person) -> str | None:
    """Why this person may not be recorded at this session, or None."""
    if person.status != "active":
        return "inactive"
    if sess.enterprise_id is None or person.enterprise_id == sess.enterprise_id:
        return None
    if sess.kind == "shadowing" and person.agency_id is not None:
        return None
    return "wrong_unit"


def sign_in(sess: ClassroomSession, person: Person, by, now: dt.datetime) -> str:
    """QR sign-in at `now`: 'signed', 'already', or why not ('inactive', 'wrong_unit', 'early', 'closed')."""
    if _attended(sess.id, person.id) is not None:
        return "already"
    refusal = who_refusal(sess, person)
    if refusal:
        return refusal
    state = window_state(sess, now)
    if state != "open":
        return state
    return "signed" if attend(sess, person, "qr", by=by, now=now) is not None else "already"


def signin_message(status: str, sess: ClassroomSession) -> str:
    opens, closes = signin_window(sess)
    fmt = "%Y-%m-%d %H:%M"
    messages = {
        "signed": lambda: _("签到成功，本次培训已计入您的培训档案"),
        "already": lambda: _("您已签到，无需重复签到"),
        "inactive": lambda: _("您的人员状态不是在职，不能签到"),
        "wrong_unit": lambda: _("本次培训仅限%(unit)s的人员签到", unit=_unit_name(sess)),
        "early": lambda: _("签到尚未开始：请在 %(opens)s 之后签到（培训开始前 30 分钟）",
                           opens=opens.astimezone(SHANGHAI).strftime(fmt)),
        "closed": lambda: _("签到已结束（截止 %(closes)s），如确已参加请联系培训组织者补登",
                            closes=closes.astimezone(SHANGHAI).strftime(fmt)),
        "no_person": lambda: _("您的账号没有关联人员信息，不能签到"),
    }
    return messages[status]()


def signin_url(sess: ClassroomSession) -> str:
    """What the sign-in QR carries."""
    return f"{current_app.config['TRAINAPP_BASE_URL']}/classroom/signin/{sess.signin_token}"


def qr_data_uri(sess: ClassroomSession) -> str:
    from trainapp.certificates.pdf import qr_svg

    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(signin_url(sess))).decode("ascii")


def apply_record_changes(sess: ClassroomSession, before: dict, by) -> int:
    """After an edit, correct the archive lines that still say what the session used to say.

    A line someone already corrected to another value (e.g. fewer hours for leaving early) keeps
    that value. Returns how many lines were corrected.
    """
    after = record_values(sess)
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return 0
    count = 0
    for rec in db.session.scalars(current_records().where(TrainingRecord.session_id == sess.id)
                                  .order_by(TrainingRecord.id)).all():
        changes = {k: v for k, v in changed.items() if getattr(rec, k) == before[k]}
        if changes:
            correct(rec, by, CORRECTION_REASON, **changes)
            count += 1
    return count


# --- import of attendees ----------------------------------------------------------------

@dataclass
class AttendeeRow:
    row: int | None
    name: str
    mobile: str
    person_id: int


@dataclass
class AttendeeImport:
    rows: list[AttendeeRow] = field(default_factory=list)
    errors: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "出席名单"
    ws.append(IMPORT_HEADERS)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parse_attendees(data: bytes, filename: str, sess: ClassroomSession, user) -> AttendeeImport:
    """Read and check every row of an attendee list; nothing is written."""
    result = AttendeeImport()
    try:
        table = read_table(data, filename, IMPORT_HEADERS, [], IMPORT_ALIASES)
    except TableError as exc:
        result.errors.append((None, str(exc)))
        return result
    if not table.rows:
        result.errors.append((None, _("文件中没有数据行")))
        return result
    return check_attendees([(n, v["姓名"], v["手机号"]) for n, v in table.rows], sess, user)


def check_attendees(entries: list[tuple[int | None, str, str]], sess: ClassroomSession, user) -> AttendeeImport:
    """Match (row, name, mobile) entries to people the user may record at this session."""
    result = AttendeeImport()
    seen: dict[str, int | None] = {}
    wanted: list[tuple[int | None, str, str]] = []
    for number, name, mobile in entries:
        name = (name or "").strip()
        mobile = (mobile or "").replace(" ", "").replace("-", "")
        if not name:
            result.errors.append((number, _("姓名不能为空")))
        if (problem := mobile_problem(mobile)):
            result.errors.append((number, problem))
        elif mobile in seen:
            result.errors.append((number, _("手机号与第 %(row)d 行重复", row=seen[mobile] or 0)))
        else:
            seen[mobile] = number
            if name:
                wanted.append((number, name, mobile))
    mobiles = [m for _n, _name, m in wanted]
    people: dict[str, Person] = {}
    for start in range(0, len(mobiles), 900):
        for p in db.session.scalars(select(Person).where(Person.mobile.in_(mobiles[start:start + 900]),
                                                         attendee_criterion(sess, user))):
            people[p.mobile] = p
    attended = set(db.session.scalars(select(Attendance.person_id).where(Attendance.session_id == sess.id)))
    for number, name, mobile in wanted:
        person = people.get(mobile)
        if person is None:
            result.errors.append((number, _("手机号 %(mobile)s 不是本次培训可登记的人员", mobile=mobile)))
        elif person.name.replace(" ", "") != name.replace(" ", ""):
            result.errors.append((number, _("姓名“%(name)s”与手机号 %(mobile)s 登记的姓名不一致",
                                            name=name, mobile=mobile)))
        elif person.id in attended:
            result.errors.append((number, _("%(name)s 已登记出席本次培训", name=person.name)))
        else:
            result.rows.append(AttendeeRow(number, person.name, mobile, person.id))
    result.errors.sort(key=lambda e: e[0] or 0)
    return result


def apply_attendees(result: AttendeeImport, sess: ClassroomSession, by, method: str = "import") -> int:
    """Write a checked list in the caller's transaction; returns how many were recorded."""
    assert result.ok
    count = 0
    for row in result.rows:
        if attend(sess, db.session.get(Person, row.person_id), method, by=by) is not None:
            count += 1
    return count


# --- forms ---------------------------------------------------------------------------------

class SessionForm(FlaskForm):
    title = StringField(_l("培训主题"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"), default="classroom")
    unit = SelectField(_l("所属单位"), description=_l("选择街镇表示街镇组织的集中培训，不限单位人员签到"))
    content = TextAreaField(_l("培训内容"), validators=[Optional(), Length(max=5000)])
    teacher = StringField(_l("授课人"), validators=[DataRequired(), Length(max=100)])
    place = StringField(_l("培训地点"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("培训开始时间"), tz=SHANGHAI, format=LOCAL_FORMATS, validators=[DataRequired()],
                                   description=_l("北京时间；开始前 30 分钟起可扫码签到"))
    ends_at = DateTimeLocalField(_l("培训结束时间"), tz=SHANGHAI, format=LOCAL_FORMATS, validators=[DataRequired()],
                                 description=_l("北京时间；结束后不能再扫码签到"))
    hours = FloatField(_l("学时"), validators=[InputRequired()], description=_l("大于 0，不超过 8"))
    submit = SubmitField(_l("保存"))

    def validate_hours(self, field):
        if field.data is None or not 0 < field.data <= MAX_HOURS:
            raise ValidationError(_("学时应大于 0 且不超过 8"))

    def validate_ends_at(self, field):
        starts = self.starts_at.data
        if field.data is None or starts is None:
            return
        if field.data <= starts:
            raise ValidationError(_("结束时间应晚于开始时间"))
        if field.data - starts > MAX_LENGTH:
            raise ValidationError(_("一次培训不超过 24 小时；多日培训请按天分别登记"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("确认"))


class UploadForm(FlaskForm):
    file = FileField(_l("选择文件（.xlsx 或 .csv）"), validators=[FileRequired()])
    submit = SubmitField(_l("上传并预览"))


class PickForm(FlaskForm):
    person_id = SelectField(_l("选择人员"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("添加"))


class MobileForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=50)])
    mobile = StringField(_l("手机号"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("添加"))


# --- helpers for views ------------------------------------------------------------------

def _unit_name(sess: ClassroomSession) -> str:
    if sess.enterprise_id:
        return db.session.scalar(select(Enterprise.name).where(Enterprise.id == sess.enterprise_id)) or ""
    name = db.session.scalar(select(Street.name).where(Street.id == sess.street_id)) or ""
    return _("%(street)s（街镇组织）", street=name)


def _visible_or_404(session_id: int) -> ClassroomSession:
    sess = db.session.scalar(select(ClassroomSession).where(ClassroomSession.id == session_id,
                                                            visible_criterion(current_user)))
    if sess is None:
        abort(404)
    return sess


def _managed_or_403(session_id: int) -> ClassroomSession:
    sess = _visible_or_404(session_id)
    if not may_manage(current_user, sess):
        abort(403)
    return sess


def _attendee_count(sess: ClassroomSession) -> int:
    return db.session.scalar(select(func.count(Attendance.id)).where(Attendance.session_id == sess.id)) or 0


def _kind_choices(user) -> list[tuple[str, str]]:
    return [(k, str(KIND_LABELS[k])) for k in KINDS if _roles(user, k)]


def _not_yet(sess: ClassroomSession) -> bool:
    """Attendance cannot be recorded before the sign-in window opens."""
    if window_state(sess, utcnow()) == "early":
        flash(_("培训尚未开始，不能登记出席"), "warning")
        return True
    return False


# --- views: sessions ------------------------------------------------------------------------

@bp.route("/")
@role_required(*MANAGE_ROLES)
def index():
    stmt = (select(ClassroomSession).where(visible_criterion(current_user))
            .order_by(ClassroomSession.starts_at.desc(), ClassroomSession.id.desc()))
    page = db.paginate(stmt, per_page=30, error_out=False)
    ids = [s.id for s in page.items]
    counts = dict(db.session.execute(select(Attendance.session_id, func.count(Attendance.id))
                                     .where(Attendance.session_id.in_(ids)).group_by(Attendance.session_id)).all())
    units = {s.id: _unit_name(s) for s in page.items}
    return render_template("courses/classroom/index.html", page=page, counts=counts, units=units,
                           can_create=_can_create(current_user), now=utcnow(), window_state=window_state,
                           labels_kind=KIND_LABELS)


def _can_create(user) -> bool:
    roles = _roles(user, None)
    return (db.session.scalar(select(Enterprise.id).where(_enterprise_scope(user, roles)).limit(1)) is not None
            or db.session.scalar(select(Street.id).where(_street_scope(user, roles)).limit(1)) is not None)


def _fill_choices(form: SessionForm) -> None:
    form.kind.choices = opts(_kind_choices(current_user))
    form.unit.choices = opts(unit_choices(current_user))


def _check_unit(form: SessionForm) -> bool:
    """A unit the page never offered is tampering (403); one not allowed for the kind is a form error."""
    unit, kind = request.form.get("unit", ""), request.form.get("kind", "")
    if unit not in {c.value for c in form.unit.choices}:
        abort(403)
    if kind in KINDS and not unit_allowed(current_user, unit, kind):
        form.unit.errors = [*form.unit.errors, _("您只能为该单位登记跟班培训")]
        return False
    return True


def _apply(form: SessionForm, sess: ClassroomSession) -> None:
    what, ident = _parse_unit(form.unit.data)
    sess.enterprise_id = ident if what == "e" else None
    sess.street_id = (db.session.scalar(select(Enterprise.street_id).where(Enterprise.id == ident))
                      if what == "e" else ident)
    sess.kind = form.kind.data
    sess.title = form.title.data.strip()
    sess.content = (form.content.data or "").strip()
    sess.teacher = form.teacher.data.strip()
    sess.place = form.place.data.strip()
    sess.starts_at = form.starts_at.data.astimezone(dt.timezone.utc)
    sess.ends_at = form.ends_at.data.astimezone(dt.timezone.utc)
    sess.hours = round(float(form.hours.data), 2)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def new():
    form = SessionForm()
    _fill_choices(form)
    if not form.unit.choices:
        abort(403)
    if request.method == "GET":
        preset = request.args.get("enterprise", type=int)
        if preset:
            if f"e:{preset}" not in {c.value for c in form.unit.choices}:
                abort(404)
            form.unit.data = f"e:{preset}"
        if not _roles(current_user, "classroom"):
            form.kind.data = "shadowing"
    if request.method == "POST" and _check_unit(form) and form.validate_on_submit():
        sess = ClassroomSession(signin_token=secrets.token_urlsafe(16), created_by_id=current_user.id)
        _apply(form, sess)
        db.session.add(sess)
        db.session.flush()
        record("create", sess, summary=f"{sess.title} ({_unit_name(sess)})")
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("classroom.detail", session_id=sess.id))
    return render_template("courses/classroom/form.html", form=form, sess=None)


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def edit(session_id: int):
    sess = _managed_or_403(session_id)
    if request.method == "GET":
        form = SessionForm(data={"title": sess.title, "kind": sess.kind, "unit": unit_of(sess),
                                 "content": sess.content, "teacher": sess.teacher, "place": sess.place,
                                 "starts_at": aware(sess.starts_at), "ends_at": aware(sess.ends_at),
                                 "hours": sess.hours})
    else:
        form = SessionForm()
    _fill_choices(form)
    if request.method == "POST" and _check_unit(form) and form.validate_on_submit():
        if form.unit.data != unit_of(sess) and _attendee_count(sess):
            form.unit.errors = [*form.unit.errors, _("已有出席记录，不能更改所属单位")]
        else:
            before = record_values(sess)
            _apply(form, sess)
            db.session.flush()
            corrected = apply_record_changes(sess, before, current_user)
            record("update", sess, summary=sess.title, corrected_records=corrected)
            db.session.commit()
            flash(_("已保存") if not corrected else _("已保存，并更正了 %(n)d 条培训档案", n=corrected), "success")
            return redirect(url_for("classroom.detail", session_id=sess.id))
    return render_template("courses/classroom/form.html", form=form, sess=sess)


@bp.route("/<int:session_id>")
@role_required(*MANAGE_ROLES)
def detail(session_id: int):
    sess = _visible_or_404(session_id)
    manage = may_manage(current_user, sess)
    stmt = (select(Attendance).join(Person, Person.id == Attendance.person_id)
            .options(selectinload(Attendance.person).selectinload(Person.enterprise))
            .where(Attendance.session_id == sess.id).order_by(Attendance.at, Attendance.id))
    if not manage:
        stmt = stmt.where(person_criterion(current_user))
    attendees = db.session.scalars(stmt).all()
    pick_form = None
    if manage and sess.enterprise_id:
        pick_form = PickForm()
        pick_form.person_id.choices = _pick_choices(sess)
    return render_template("courses/classroom/detail.html", sess=sess, manage=manage, attendees=attendees,
                           labels_kind=KIND_LABELS, labels_method=METHOD_LABELS,
                           total=_attendee_count(sess), unit=_unit_name(sess),
                           state=window_state(sess, utcnow()), window=signin_window(sess),
                           qr=qr_data_uri(sess) if manage else None, url=signin_url(sess) if manage else None,
                           pick_form=pick_form, mobile_form=MobileForm() if manage else None)


@bp.route("/<int:session_id>/qr")
@role_required(*MANAGE_ROLES)
def projection(session_id: int):
    """A page to put on the projector: the QR, large, with the session's name and window."""
    sess = _managed_or_403(session_id)
    return render_template("courses/classroom/qr.html", sess=sess, qr=qr_data_uri(sess), url=signin_url(sess),
                           window=signin_window(sess), unit=_unit_name(sess))


# --- views: adding attendees ---------------------------------------------------------------

def _pick_choices(sess: ClassroomSession):
    attended = select(Attendance.person_id).where(Attendance.session_id == sess.id)
    people = db.session.scalars(select(Person).where(
        Person.enterprise_id == sess.enterprise_id, Person.status == "active", Person.id.not_in(attended))
        .order_by(Person.name, Person.id)).all()
    return opts([(0, "—")] + [(p.id, f"{p.name}（{p.mobile or '—'}）") for p in people])


@bp.route("/<int:session_id>/attendees", methods=["POST"])
@role_required(*MANAGE_ROLES)
def attendee_pick(session_id: int):
    sess = _managed_or_403(session_id)
    if sess.enterprise_id is None:
        abort(404)
    form = PickForm()
    form.person_id.choices = _pick_choices(sess)
    back = redirect(url_for("classroom.detail", session_id=sess.id))
    if not form.validate_on_submit():
        flash(_("请选择本单位尚未登记出席的人员"), "danger")
        return back
    if _not_yet(sess):
        return back
    person = db.session.get(Person, form.person_id.data)
    if attend(sess, person, "manual", by=current_user) is None:
        flash(_("%(name)s 已登记出席本次培训", name=person.name), "info")
        return back
    record("add_attendee", sess, summary=f"{sess.title}: {person.name}", person_id=person.id)
    db.session.commit()
    flash(_("已添加 %(name)s", name=person.name), "success")
    return back


@bp.route("/<int:session_id>/attendees/by-mobile", methods=["POST"])
@role_required(*MANAGE_ROLES)
def attendee_by_mobile(session_id: int):
    sess = _managed_or_403(session_id)
    form = MobileForm()
    back = redirect(url_for("classroom.detail", session_id=sess.id))
    if not form.validate_on_submit():
        flash(_("请填写姓名和手机号"), "danger")
        return back
    if _not_yet(sess):
        return back
    result = check_attendees([(None, form.name.data, form.mobile.data)], sess, current_user)
    if not result.ok:
        for _row, message in result.errors:
            flash(message, "danger")
        return back
    apply_attendees(result, sess, current_user, method="manual")
    record("add_attendee", sess, summary=f"{sess.title}: {result.rows[0].name}", person_id=result.rows[0].person_id)
    db.session.commit()
    flash(_("已添加 %(name)s", name=result.rows[0].name), "success")
    return back


@bp.route("/attendee-template.xlsx")
@role_required(*MANAGE_ROLES)
def template():
    return send_file(io.BytesIO(template_xlsx()), mimetype=XLSX_MIME, as_attachment=True,
                     download_name="attendee-template.xlsx")


def _max_bytes() -> int:
    return current_app.config["IMPORT_MAX_BYTES"]


def _preview(sess, result, token, filename):
    return render_template("courses/classroom/preview.html", sess=sess, result=result, token=token,
                           filename=filename, confirm_form=ConfirmForm(), unit=_unit_name(sess))


@bp.route("/<int:session_id>/import", methods=["GET", "POST"])
@role_required(*MANAGE_ROLES)
def upload(session_id: int):
    """Upload an attendee list and show every row's problems before anything is written."""
    sess = _managed_or_403(session_id)
    if _not_yet(sess):
        return redirect(url_for("classroom.detail", session_id=sess.id))
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(_max_bytes() + 1)
        if len(data) > _max_bytes():
            form.file.errors.append(_("文件超过 %(mb)d MB 上限", mb=_max_bytes() // (1024 * 1024)))
        else:
            filename = form.file.data.filename or "upload"
            result = parse_attendees(data, filename, sess, current_user)
            token = None
            if result.ok:
                token = uploads.keep(current_user.id, UPLOAD_KIND, filename, data, context=str(sess.id)).token
                db.session.commit()
            return _preview(sess, result, token, filename)
    return render_template("courses/classroom/upload.html", sess=sess, form=form, unit=_unit_name(sess))


@bp.route("/<int:session_id>/import/<token>", methods=["POST"])
@role_required(*MANAGE_ROLES)
def confirm(session_id: int, token: str):
    """Check the stored list again (people may have signed in meanwhile) and write it all, or nothing."""
    sess = _managed_or_403(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if _not_yet(sess):
        return redirect(url_for("classroom.detail", session_id=sess.id))
    up = uploads.fetch(token, current_user.id, UPLOAD_KIND)
    if up is None or up.context != str(sess.id):
        flash(_("预览已过期，请重新上传"), "warning")
        return redirect(url_for("classroom.upload", session_id=sess.id))
    result = parse_attendees(up.data, up.filename, sess, current_user)
    if not result.ok:
        return _preview(sess, result, None, up.filename)
    count = apply_attendees(result, sess, current_user)
    if count != len(result.rows):  # someone signed in between the check and now
        db.session.rollback()
        flash(_("名单中有人刚刚完成签到，请重新上传"), "warning")
        return redirect(url_for("classroom.upload", session_id=sess.id))
    db.session.delete(up)
    record("import_attendance", sess, summary=_("导入出席 %(n)d 人", n=count), count=count)
    db.session.commit()
    flash(_("已登记出席 %(n)d 人", n=count), "success")
    return redirect(url_for("classroom.detail", session_id=sess.id))


# --- views: QR sign-in ---------------------------------------------------------------------

@bp.route("/signin/<token>", methods=["GET", "POST"])
@limiter.limit("20/minute", methods=["POST"])
@login_required
def signin(token: str):
    sess = db.session.scalar(select(ClassroomSession).where(ClassroomSession.signin_token == token))
    if sess is None:
        abort(404)
    person = current_user.person
    form = ConfirmForm()
    now = utcnow()
    if person is None:
        status = "no_person"
    elif _attended(sess.id, person.id) is not None:
        status = "already"
    else:
        status = who_refusal(sess, person) or window_state(sess, now)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if person is not None:
            status = sign_in(sess, person, current_user, now)
            if status in ("signed", "already"):
                db.session.commit()
                if status == "signed":
                    flash(signin_message(status, sess), "success")
                return redirect(url_for("classroom.signin", token=token))
        code = 409 if status in ("early", "closed") else 403
        return _signin_page(sess, status, form, None), code
    attendance = _attended(sess.id, person.id) if person is not None else None
    return _signin_page(sess, status, form, attendance), 403 if status in ("no_person", "wrong_unit", "inactive") \
        else 200


def _signin_page(sess, status, form, attendance):
    return render_template("courses/classroom/signin.html", sess=sess, status=status, form=form,
                           attendance=attendance, unit=_unit_name(sess), window=signin_window(sess),
                           message=None if status == "open" else signin_message(status, sess))
