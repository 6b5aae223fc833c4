"""Forms for banks, questions and the import upload."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from trainapp.questionbank.qtypes import LETTERS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BankForm(FlaskForm):
    name = StringField(_l("题库名称"), validators=[DataRequired(), Length(max=200)])
    subject = SelectField(_l("科目（标准或法规）"), validators=[DataRequired()])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    sectors = MultiCheckboxField(_l("适用行业领域"), coerce=int)
    audiences = MultiCheckboxField(_l("适用人员类别"))
    submit = SubmitField(_l("保存"))


class QuestionForm(FlaskForm):
    qtype = SelectField(_l("题型"), validators=[DataRequired()])
    stem = TextAreaField(_l("题干"), validators=[DataRequired(), Length(max=5000)])
    option_a = StringField(_l("选项 A"), validators=[Optional(), Length(max=1000)])
    option_b = StringField(_l("选项 B"), validators=[Optional(), Length(max=1000)])
    option_c = StringField(_l("选项 C"), validators=[Optional(), Length(max=1000)])
    option_d = StringField(_l("选项 D"), validators=[Optional(), Length(max=1000)])
    option_e = StringField(_l("选项 E"), validators=[Optional(), Length(max=1000)])
    option_f = StringField(_l("选项 F"), validators=[Optional(), Length(max=1000)])
    option_g = StringField(_l("选项 G"), validators=[Optional(), Length(max=1000)])
    option_h = StringField(_l("选项 H"), validators=[Optional(), Length(max=1000)])
    answer = StringField(_l("答案"), description=_l("选择题填选项字母，如 B 或 ACD；判断题填“对”或“错”"),
                         validators=[DataRequired(), Length(max=20)])
    explanation = TextAreaField(_l("解析"), validators=[Optional(), Length(max=5000)])
    source = StringField(_l("出处"), validators=[Optional(), Length(max=500)])
    difficulty = SelectField(_l("难度"), coerce=int, validators=[Optional()])
    tags = StringField(_l("标签"), description=_l("多个标签用逗号或空格分隔"), validators=[Optional(), Length(max=500)])
    image = FileField(_l("图片（选填，PNG/JPEG/GIF/WebP，不超过 2 MB）"))
    remove_image = BooleanField(_l("删除现有图片"))
    submit = SubmitField(_l("保存"))

    def option_fields(self):
        return [getattr(self, f"option_{c.lower()}") for c in LETTERS]


class UploadForm(FlaskForm):
    file = FileField(_l("题库文件"), validators=[FileRequired()],
                     description=_l("Excel（.xlsx）、CSV、Word（.docx）、纯文本、GIFT、Aiken、Moodle XML 或 JSON，最大 20 MB"))
    fmt = SelectField(_l("文件格式"), default="auto")
    bank_id = SelectField(_l("导入到题库"), coerce=int)
    new_bank_name = StringField(_l("新题库名称"), description=_l("导入到新题库时填写；不填则使用文件中的题库名称或文件名"),
                                validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("上传并预览"))


class ConfirmImportForm(FlaskForm):
    include_duplicates = BooleanField(_l("重复的题目也导入"))
    skip_unsupported = BooleanField(_l("跳过不支持的题型"))
    submit = SubmitField(_l("确认导入"))
