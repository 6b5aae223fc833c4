"""Forms: starting a check, oral questions and notes (inspector); name and digits (worker)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from trainapp.formutil import opts
from trainapp.spotchecks.models import QUALITIES
from trainapp.spotchecks.service import DEFAULT_MINUTES, MAX_MINUTES, MAX_QUESTIONS, clean_last4

QUALITY_LABELS = {"good": _l("回答正确"), "fair": _l("基本正确"), "poor": _l("答不上来或错误")}
MATCH_LABELS = {"matched": _l("已匹配"), "unmatched": _l("未匹配"), "ambiguous": _l("重名待核")}


class StartForm(FlaskForm):
    title = StringField(_l("名称"), validators=[Optional(), Length(max=200)], description=_l("留空则为“现场抽考”"))
    paper = SelectField(_l("题目来源"), validators=[DataRequired()])
    count = IntegerField(_l("题数"), default=5, validators=[InputRequired(), NumberRange(min=1, max=MAX_QUESTIONS)])
    tag = StringField(_l("只抽带此标签的题"), validators=[Optional(), Length(max=60)])
    minutes = IntegerField(_l("答题时限（分钟）"), default=DEFAULT_MINUTES,
                           validators=[InputRequired(), NumberRange(min=5, max=MAX_MINUTES)],
                           description=_l("从现在起，扫码答题的有效时间"))
    preset_name = StringField(_l("另存为常用试卷"), validators=[Optional(), Length(max=100)],
                              description=_l("填写名称即可保存本次的题目来源、题数和标签，下次直接选用"))
    submit = SubmitField(_l("开始抽考，显示二维码"))


class OralForm(FlaskForm):
    question = TextAreaField(_l("提问内容"), validators=[DataRequired(), Length(max=500)])
    person_id = SelectField(_l("回答人（本单位人员）"), coerce=int, default=0)
    answered_by = StringField(_l("回答人姓名（名单外人员）"), validators=[Optional(), Length(max=50)])
    quality = SelectField(_l("回答情况"), validators=[DataRequired()])  # choices: quality_choices()
    note = StringField(_l("备注"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("记录提问"))


def quality_choices():
    return opts((q, QUALITY_LABELS[q]) for q in QUALITIES)


class NotesForm(FlaskForm):
    notes = TextAreaField(_l("检查记录"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("保存记录"))


class WorkerForm(FlaskForm):
    """Who is answering; the answers themselves are read from fields q1, q2, … of the same form."""

    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=50)])
    last4 = StringField(_l("手机号后四位"), validators=[DataRequired(), Length(max=8)],
                        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4})
    submit = SubmitField(_l("交卷"))

    def validate_last4(self, field):
        if clean_last4(field.data) is None:
            raise ValidationError(_("请填写手机号的最后 4 位数字"))
