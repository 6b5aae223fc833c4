"""Forms for enterprises, people, departments and staff import."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from trainapp.auth.forms import check_credit_code, check_id_number, check_mobile


class EnterpriseForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=120)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[DataRequired(), check_credit_code])
    street_id = SelectField(_l("所属街道"), coerce=int, validators=[DataRequired()])
    sector_id = SelectField(_l("行业领域"), coerce=int, validators=[DataRequired()])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=200)])
    headcount = IntegerField(_l("从业人数"), default=0, validators=[Optional(), NumberRange(min=0, max=1_000_000)])
    high_risk = BooleanField(_l("高危行业"))
    crowded_venue = BooleanField(_l("人员密集场所"))
    fire_key_unit = BooleanField(_l("消防安全重点单位"))
    factory_in_factory = BooleanField(_l("厂中厂"))
    key_enterprise = BooleanField(_l("区级重点企业"))
    submit = SubmitField(_l("保存"))


class PersonForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=50)])
    mobile = StringField(_l("手机号"), validators=[DataRequired(), check_mobile])
    id_number = StringField(_l("身份证号（选填）"), validators=[Optional(), check_id_number])
    audience = SelectField(_l("人员类别"), validators=[DataRequired()])
    employment_type = SelectField(_l("用工形式"), validators=[DataRequired()])
    department_id = SelectField(_l("部门"), coerce=int, validators=[Optional()])
    status = SelectField(_l("状态"), validators=[DataRequired()])
    joined_on = DateField(_l("入职日期"), validators=[Optional()])
    submit = SubmitField(_l("保存"))


class DepartmentForm(FlaskForm):
    name = StringField(_l("部门名称"), validators=[DataRequired(), Length(max=60)])
    submit = SubmitField(_l("添加部门"))


class UploadForm(FlaskForm):
    file = FileField(_l("选择文件（.xlsx 或 .csv）"), validators=[FileRequired()])
    submit = SubmitField(_l("上传并预览"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("确认导入"))


class DecisionForm(FlaskForm):
    note = StringField(_l("备注（驳回时必填）"), validators=[Optional(), Length(max=200)])
    approve = SubmitField(_l("通过"))
    reject = SubmitField(_l("驳回"))
