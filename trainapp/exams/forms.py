"""Forms for defining exams: settings, blueprint rows or a fixed paper, the availability window."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateTimeLocalField, FieldList, FloatField, Form, FormField, IntegerField, RadioField, SelectField,
    SelectMultipleField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

MAX_PARTS = 8
# Times typed into the form are local (the district's) time; the database stores UTC.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_NUMBER = re.compile(r"\d+")
_ALLOWED = re.compile(r"^[\s#,，、;；\d]*$")
# The first format is how values are rendered: what browsers' datetime-local inputs expect.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PartForm(Form):
    """One blueprint row; a row without a bank and a count is blank and ignored."""

    bank_id = SelectField(_l("题库"), coerce=int, default=0)
    qtype = SelectField(_l("题型"), default="single")
    count = IntegerField(_l("题数"), validators=[Optional(), NumberRange(min=1, max=500)])
    tag = StringField(_l("标签"), validators=[Optional(), Length(max=60)])
    difficulty = SelectField(_l("难度"), coerce=int, default=0)

    @property
    def is_blank(self) -> bool:
        return not self.bank_id.data and not self.count.data and not (self.tag.data or "").strip()


class ExamForm(FlaskForm):
    title = StringField(_l("考试名称"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("考试说明"), validators=[Optional(), Length(max=5000)])
    subject = SelectField(_l("科目（标准或法规）"), validators=[DataRequired()])
    audiences = MultiCheckboxField(_l("面向人员类别（不选则面向所有人）"))
    sectors = MultiCheckboxField(_l("面向行业领域（不选则面向所有行业）"), coerce=int)
    mode = RadioField(_l("组卷方式"), default="blueprint")
    parts = FieldList(FormField(PartForm), min_entries=MAX_PARTS, max_entries=MAX_PARTS)
    question_ids = TextAreaField(
        _l("固定试卷题号"), validators=[Length(max=5000)],
        description=_l("按顺序填写题目编号（题库页面中显示的 #编号），用逗号、空格或换行分隔"))
    points_single = FloatField(_l("单选题每题分值"), default=2.0, validators=[DataRequired(), NumberRange(min=0.5, max=100)])
    points_multiple = FloatField(_l("多选题每题分值"), default=3.0,
                                 validators=[DataRequired(), NumberRange(min=0.5, max=100)])
    points_truefalse = FloatField(_l("判断题每题分值"), default=1.0,
                                  validators=[DataRequired(), NumberRange(min=0.5, max=100)])
    partial_credit = BooleanField(_l("多选题少选按比例得分（错选扣分，最低 0 分）"), default=False)
    time_limit_minutes = IntegerField(_l("考试时长（分钟）"), default=60,
                                      validators=[DataRequired(), NumberRange(min=1, max=600)])
    pass_percent = FloatField(_l("及格线（得分率 %）"), default=60.0,
                              validators=[InputRequired(), NumberRange(min=0, max=100)])
    max_attempts = IntegerField(_l("允许考试次数（0 表示不限）"), default=3,
                                validators=[InputRequired(), NumberRange(min=0, max=100)])
    retry_wait_minutes = IntegerField(_l("两次考试间隔（分钟）"), default=0,
                                      validators=[InputRequired(), NumberRange(min=0, max=100000)])
    counts = SelectField(_l("计入成绩的答卷"), default="highest")
    opens_at = DateTimeLocalField(_l("开始时间"), tz=LOCAL_TZ, format=LOCAL_FORMATS, validators=[Optional()],
                                  description=_l("北京时间；不填表示发布后即可参加"))
    closes_at = DateTimeLocalField(_l("截止时间"), tz=LOCAL_TZ, format=LOCAL_FORMATS, validators=[Optional()],
                                   description=_l("北京时间；不填表示不截止"))
    shuffle_questions = BooleanField(_l("打乱题目顺序"), default=True)
    shuffle_options = BooleanField(_l("打乱选项顺序"), default=True)
    layout = SelectField(_l("答题页面"), default="one")
    review_content = SelectField(_l("交卷后可查看"), default="full")
    review_when = SelectField(_l("何时可查看"), default="immediately")
    certificate_template = SelectField(_l("合格后发放的证书"), default="")
    submit = SubmitField(_l("保存"))

    # Filled in by validate(): the fixed paper's question ids, in order.
    fixed_ids: tuple[int, ...] | list[int] = ()

    def validate_closes_at(self, field):
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_("截止时间必须晚于开始时间"))

    def validate_question_ids(self, field):
        self.fixed_ids = []
        if self.mode.data != "fixed":
            return
        text = field.data or ""
        if not _ALLOWED.match(text):
            raise ValidationError(_("题号只能包含数字，用逗号、空格或换行分隔"))
        ids = [int(n) for n in _NUMBER.findall(text)]
        if not ids:
            raise ValidationError(_("固定试卷至少要有一道题"))
        seen, repeated = set(), []
        for n in ids:
            if n in seen and n not in repeated:
                repeated.append(n)
            seen.add(n)
        if repeated:
            raise ValidationError(_("题号重复：%(ids)s", ids="、".join(f"#{n}" for n in repeated)))
        self.fixed_ids = ids

    def validate_parts(self, field):
        if self.mode.data != "blueprint":
            return
        bad = False
        for entry in field.entries:
            sub = entry.form
            if sub.is_blank:
                continue
            if not sub.bank_id.data:
                sub.bank_id.errors.append(_("请选择题库"))
                bad = True
            if not sub.count.data:
                sub.count.errors.append(_("请填写题数"))
                bad = True
        if bad:
            raise ValidationError(_("请补全组卷规则中标出的行"))
        if all(entry.form.is_blank for entry in field.entries):
            raise ValidationError(_("组卷规则至少要有一部分"))

    def filled_parts(self) -> list[PartForm]:
        return [e.form for e in self.parts.entries if not e.form.is_blank]


class ActionForm(FlaskForm):
    """An empty form: CSRF for publish and close."""
