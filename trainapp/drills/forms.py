"""Forms and value checks shared by the drill form and the drill import."""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

KIND_LABELS = {
    "evacuation": _l("全员疏散逃生演练"),
    "fire": _l("消防演练"),
    "special_plan": _l("专项应急预案演练"),
    "other": _l("其他演练"),
}
# What people write on paper forms, mapped to kind codes (the import reads these).
KIND_WORDS = {
    "全员疏散逃生": "evacuation", "全员疏散逃生演练": "evacuation", "疏散逃生": "evacuation", "疏散逃生演练": "evacuation",
    "消防": "fire", "消防演练": "fire", "灭火和应急疏散": "fire",
    "专项应急预案": "special_plan", "专项应急预案演练": "special_plan", "专项": "special_plan",
    "其他": "other", "其他演练": "other",
}
REVISION_LABELS = {"open": _l("修订中"), "closed": _l("已完成修订")}
STATUS_LABELS = {"overdue": _l("已逾期"), "due_soon": _l("即将到期"), "up_to_date": _l("按期完成"),
                 "none_yet": _l("尚未演练")}
MATCH_LABELS = {"all": _l("所有单位"), "flag": _l("具有单位标识"), "sector": _l("所属行业领域"),
                "high_risk_sector": _l("高危行业领域")}
MONTH_LABELS = {12: _l("每年至少一次"), 6: _l("每半年至少一次"), 3: _l("每季度至少一次")}
MAX_EVACUATION_SECONDS = 24 * 3600


def parse_duration(text: str | None) -> int | None:
    """Seconds from '205', '205秒', '3:25', '3分25秒' or '3分钟'; None when blank; ValueError when unreadable."""
    text = (text or "").strip().replace("：", ":").replace(" ", "")
    if not text:
        return None
    m = (re.fullmatch(r"(\d{1,5})(?:秒|s)?", text) or re.fullmatch(r"(\d{1,4}):(\d{1,2})", text)
         or re.fullmatch(r"(\d{1,4})分(?:钟)?(?:(\d{1,2})秒)?", text))
    if not m:
        raise ValueError(text)
    if len(m.groups()) == 1:
        seconds = int(m[1])
    else:
        if m[2] is not None and int(m[2]) >= 60:
            raise ValueError(text)
        seconds = int(m[1]) * 60 + int(m[2] or 0)
    if not 0 < seconds <= MAX_EVACUATION_SECONDS:
        raise ValueError(text)
    return seconds


def format_duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes, secs = divmod(seconds, 60)
    if not minutes:
        return _("%(s)d 秒", s=secs)
    return _("%(m)d 分 %(s)d 秒", m=minutes, s=secs) if secs else _("%(m)d 分钟", m=minutes)


def value_problems(values: dict, on: dt.date, enterprise_headcount: int | None) -> list[tuple[str, str]]:
    """Cross-field checks shared by the form and the import: (field, message) pairs.

    `values` has held_on, participants, headcount_on_duty, revision_state, revision_closed_on,
    revision_notes and signed_on (the parsed values, any of them possibly None).
    """
    problems: list[tuple[str, str]] = []
    held = values.get("held_on")
    if held is not None and held > on:
        problems.append(("held_on", _("演练日期不能晚于今天")))
    participants, on_duty = values.get("participants"), values.get("headcount_on_duty")
    if participants is not None and on_duty is not None and participants > on_duty:
        problems.append(("participants", _("参演人数（%(p)d）不能超过在岗人数（%(h)d）", p=participants, h=on_duty)))
    if on_duty is not None and enterprise_headcount and on_duty > enterprise_headcount:
        problems.append(("headcount_on_duty", _("在岗人数（%(h)d）超过单位登记的从业人员数（%(n)d），请核对或先更新单位信息",
                                                h=on_duty, n=enterprise_headcount)))
    if values.get("kind") in ("evacuation", "fire") and values.get("evacuation_seconds") is None \
            and "evacuation_seconds" in values:
        problems.append(("evacuation_time", _("疏散类演练请填写疏散用时")))
    signed = values.get("signed_on")
    if signed is not None and signed > on:
        problems.append(("signed_on", _("签字日期不能晚于今天")))
    elif signed is not None and held is not None and signed < held:
        problems.append(("signed_on", _("签字日期不能早于演练日期")))
    if values.get("revision_state") == "closed":
        closed = values.get("revision_closed_on")
        if closed is None:
            problems.append(("revision_closed_on", _("预案修订已完成时请填写完成日期")))
        elif closed > on:
            problems.append(("revision_closed_on", _("修订完成日期不能晚于今天")))
        elif held is not None and closed < held:
            problems.append(("revision_closed_on", _("修订完成日期不能早于演练日期")))
        if not (values.get("revision_notes") or "").strip():
            problems.append(("revision_notes", _("预案修订已完成时请说明修订了哪些内容")))
    return problems


class DrillForm(FlaskForm):
    enterprise_id = SelectField(_l("单位"), coerce=int, validators=[DataRequired()])
    held_on = DateField(_l("演练日期"), validators=[DataRequired()])
    kind = SelectField(_l("演练类型"), validators=[DataRequired()],
                       description=_l("全员疏散逃生演练和消防演练计入疏散逃生演练频次"))
    scenario = StringField(_l("演练场景"), validators=[DataRequired(), Length(max=500)],
                           description=_l("例如：二楼仓库起火，全员经东西两侧楼梯疏散至厂区空地"))
    organiser = StringField(_l("组织人"), validators=[DataRequired(), Length(max=100)])
    departments = StringField(_l("参与部门"), validators=[Optional(), Length(max=500)])
    headcount_on_duty = IntegerField(_l("在岗人数"), validators=[InputRequired(), NumberRange(min=1, max=100000)])
    participants = IntegerField(_l("参演人数"), validators=[InputRequired(), NumberRange(min=1, max=100000)])
    evacuation_time = StringField(_l("疏散用时"), validators=[Optional(), Length(max=20)],
                                  description=_l("如 3:25、3分25秒 或 205（秒）；疏散类演练必填"))
    problems = TextAreaField(_l("发现的问题"), validators=[Optional(), Length(max=5000)])
    measures = TextAreaField(_l("整改措施"), validators=[Optional(), Length(max=5000)])
    revision_needed = BooleanField(_l("需要修订应急预案"))
    revision_state = SelectField(_l("预案修订进展"), default="open")
    revision_closed_on = DateField(_l("修订完成日期"), validators=[Optional()])
    revision_notes = TextAreaField(_l("修订内容"), validators=[Optional(), Length(max=5000)])
    signed_by = StringField(_l("主要负责人签字"), validators=[DataRequired(), Length(max=50)],
                            description=_l("单位主要负责人姓名，确认演练记录属实"))
    signed_on = DateField(_l("签字日期"), validators=[DataRequired()])
    photos = MultipleFileField(_l("现场照片"), description=_l("PNG、JPEG、GIF 或 WebP，每张不超过 2 MB"))
    documents = MultipleFileField(_l("演练方案、总结等文件（PDF）"), description=_l("PDF，每个不超过 10 MB"))
    submit = SubmitField(_l("保存"))

    def validate_evacuation_time(self, field):
        try:
            parse_duration(field.data)
        except ValueError:
            raise ValidationError(_("无法识别的用时，请写成 3:25、3分25秒 或秒数")) from None


class AttachForm(FlaskForm):
    photos = MultipleFileField(_l("现场照片"))
    documents = MultipleFileField(_l("文件（PDF）"))
    submit = SubmitField(_l("上传"))


class RuleForm(FlaskForm):
    match = SelectField(_l("适用范围"), validators=[DataRequired()])
    flag = SelectField(_l("单位标识"), validators=[Optional()])
    sector_id = SelectField(_l("行业领域"), coerce=int, validators=[Optional()])
    months = SelectField(_l("频次"), coerce=int, validators=[DataRequired()])
    source = StringField(_l("依据"), validators=[DataRequired(), Length(max=300)])
    active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class UploadForm(FlaskForm):
    file = FileField(_l("选择文件（.xlsx 或 .csv）"), validators=[FileRequired()])
    submit = SubmitField(_l("上传并预览"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("确认"))
