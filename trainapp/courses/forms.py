"""Forms for authoring courses and lessons, and for assigning courses."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField, FloatField, IntegerField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

COURSE_STATUS_LABELS = {"draft": _l("草稿"), "published": _l("已发布"), "archived": _l("已停用")}
KIND_LABELS = {"text": _l("图文"), "pdf": _l("PDF 文档"), "video": _l("视频")}
SOURCE_LABELS = {"self": _l("自选"), "enterprise": _l("单位布置"), "manager": _l("街镇/行业布置")}
ENROLMENT_STATUS_LABELS = {"active": _l("学习中"), "completed": _l("已完成"), "withdrawn": _l("已撤销")}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CourseForm(FlaskForm):
    title = StringField(_l("课程名称"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("课程简介"), validators=[Optional(), Length(max=5000)])
    audiences = MultiCheckboxField(_l("面向人员类别（不选则面向所有人）"))
    sectors = MultiCheckboxField(_l("面向行业领域（不选则面向所有行业）"), coerce=int)
    idle_minutes = IntegerField(
        _l("无操作多少分钟后停止计时"), default=5, validators=[InputRequired(), NumberRange(min=1, max=60)],
        description=_l("学员离开页面或这么久没有操作，学习时长就不再累计（1–60 分钟）"))
    exam_id = SelectField(_l("结业考试"), coerce=int, default=0)
    status = SelectField(_l("状态"), default="draft")
    submit = SubmitField(_l("保存"))


class LessonForm(FlaskForm):
    title = StringField(_l("课时名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"), default="text")
    hours = FloatField(_l("学时"), default=0.5, validators=[InputRequired(), NumberRange(min=0.1, max=8)],
                       description=_l("完成本节计入的学时（0.1–8）"))
    min_minutes = IntegerField(_l("最少学习时间（分钟）"), default=5,
                               validators=[InputRequired(), NumberRange(min=1, max=480)],
                               description=_l("页面在前台且有操作的时间达到这么久，才算完成本节"))
    source = StringField(_l("出处（法规、标准或资料来源）"), validators=[Optional(), Length(max=300)])
    body_md = TextAreaField(
        _l("正文（Markdown，也可以粘贴 HTML）"), validators=[Optional(), Length(max=200_000)],
        description=_l("图文课时必填；PDF 和视频课时可作为说明。保存时会清除脚本、事件属性和不安全的链接。"))
    pdf = FileField(_l("PDF 文件"), description=_l("不超过 20 MB"))
    video = FileField(_l("上传视频"), description=_l("MP4（H.264）或 WebM，不超过 200 MB"))
    video_url = StringField(_l("或视频链接"), validators=[Optional(), Length(max=500)],
                            description=_l("以 http:// 或 https:// 开头"))
    video_length = StringField(_l("视频时长（分:秒）"), validators=[Optional(), Length(max=12)],
                               description=_l("例如 12:30；超过一小时可写 1:02:30"))
    submit = SubmitField(_l("保存"))


class ActionForm(FlaskForm):
    """An empty form: CSRF for buttons that change something."""


class EnterpriseAssignForm(FlaskForm):
    departments = MultiCheckboxField(_l("部门"), coerce=int)
    audiences = MultiCheckboxField(_l("人员类别"))
    people = SelectMultipleField(_l("指定人员"), coerce=int, validate_choice=False,
                                 description=_l("按住 Ctrl（Mac 为 ⌘）可多选"))
    due_on = DateField(_l("完成期限"), validators=[DataRequired(message=_l("请填写完成期限"))])
    preview = SubmitField(_l("预览人数"))
    confirm = SubmitField(_l("确认布置"))


class AreaAssignForm(FlaskForm):
    audiences = MultiCheckboxField(_l("人员类别"))
    street_id = SelectField(_l("街道/镇"), coerce=int, default=0)
    sector_id = SelectField(_l("行业领域"), coerce=int, default=0)
    due_on = DateField(_l("完成期限"), validators=[DataRequired(message=_l("请填写完成期限"))])
    preview = SubmitField(_l("预览人数"))
    confirm = SubmitField(_l("确认布置"))
