"""Sign-in, sign-up, first-sign-in profile and password forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from trainapp.org.validators import credit_code_problem, id_number_problem, mobile_problem


def check_mobile(form, field):
    if field.data and (problem := mobile_problem(field.data)):
        raise ValidationError(problem)


def check_id_number(form, field):
    if field.data and (problem := id_number_problem(field.data)):
        raise ValidationError(problem)


def check_credit_code(form, field):
    if field.data and (problem := credit_code_problem(field.data)):
        raise ValidationError(problem)


class LoginForm(FlaskForm):
    login = StringField(_l("手机号或用户名"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=128)])
    remember = BooleanField(_l("记住我"))
    submit = SubmitField(_l("登录"))


class SignupForm(FlaskForm):
    mobile = StringField(_l("手机号"), validators=[DataRequired(), check_mobile])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(_l("确认密码"), validators=[
        DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致"))])
    submit = SubmitField(_l("注册"))


class ProfileForm(FlaskForm):
    """First sign-in: who the learner is and which unit they belong to (seed 000 附件2 四(三)4)."""

    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=50)])
    street_id = SelectField(_l("所属街道"), coerce=int, validators=[DataRequired()])
    unit = StringField(_l("单位名称或统一社会信用代码"), validators=[DataRequired(), Length(max=120)])
    enterprise_id = RadioField(_l("请选择您的单位"), coerce=int, validators=[Optional()],
                               validate_choice=False)
    new_unit = BooleanField(_l("名录中没有我的单位，申请新增"))
    new_unit_credit_code = StringField(_l("新单位的统一社会信用代码"), validators=[Optional(), check_credit_code])
    new_unit_sector_id = SelectField(_l("新单位所属行业领域"), coerce=int, validators=[Optional()])
    audience = SelectField(_l("人员类别"), validators=[DataRequired()])
    employment_type = SelectField(_l("用工形式"), validators=[DataRequired()])
    id_number = StringField(_l("身份证号（选填）"), validators=[Optional(), check_id_number])
    submit = SubmitField(_l("提交"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired()])
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(_l("确认新密码"), validators=[
        DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致"))])
    submit = SubmitField(_l("修改密码"))
