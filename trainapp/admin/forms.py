"""Forms for user, role, street and sector administration."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from trainapp.auth.forms import check_credit_code, check_mobile
from trainapp.formutil import opts


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[Optional(), Length(min=3, max=40),
                           Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("用户名只能包含字母、数字和 _ . -"))])
    mobile = StringField(_l("手机号"), validators=[Optional(), check_mobile])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=50)])
    submit = SubmitField(_l("创建账号"))


class GrantForm(FlaskForm):
    role = SelectField(_l("角色"), validators=[DataRequired()])
    district_id = SelectField(_l("区"), coerce=int, validators=[Optional()])
    street_id = SelectField(_l("街道"), coerce=int, validators=[Optional()])
    sector_id = SelectField(_l("行业领域"), coerce=int, validators=[Optional()])
    enterprise_code = StringField(_l("企业统一社会信用代码"), validators=[Optional(), check_credit_code])
    agency_id = SelectField(_l("所属部门"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("授予角色"))


class StreetForm(FlaskForm):
    district_id = SelectField(_l("区"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("街道/镇名称"), validators=[DataRequired(), Length(max=50)])
    kind = SelectField(_l("类型"), choices=opts([("street", _l("街道")), ("town", _l("镇"))]))
    submit = SubmitField(_l("添加"))


class SectorForm(FlaskForm):
    code = StringField(_l("代码"), validators=[DataRequired(), Length(max=40),
                       Regexp(r"^[a-z][a-z0-9_]*$", message=_l("代码只能包含小写字母、数字和下划线"))])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=50)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), Length(max=80)])
    parent_id = SelectField(_l("上级领域"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("添加"))


class SimpleForm(FlaskForm):
    """A bare form for POST buttons that only need CSRF."""
    submit = SubmitField(_l("确定"))
