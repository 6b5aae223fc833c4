"""Admins pick, edit and preview certificate templates, and set each district's seal."""
from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from trainapp import files
from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.certificates import pdf, service
from trainapp.certificates.models import Certificate, CertificateTemplate, DistrictSeal
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.org.models import District

bp = Blueprint("certificate_admin", __name__, url_prefix="/certificates/templates")
LAYOUT_LABELS = {"classic": _l("典雅（金色边框）"), "modern": _l("简洁（蓝色侧条）")}
VALIDITY_LABELS = {"rolling": _l("自发证日起滚动计算"), "year_end": _l("到年底截止"), "none": _l("长期有效")}


class TemplateForm(FlaskForm):
    code = StringField(_l("代码"), validators=[DataRequired(), Length(max=60),
                                             Regexp(r"^[a-z0-9_-]+$", message=_l("只能使用小写字母、数字、- 和 _"))])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    layout = SelectField(_l("版式"), validators=[DataRequired()])
    title = StringField(_l("证书标题"), validators=[DataRequired(), Length(max=100)])
    body = TextAreaField(_l("正文"), validators=[Optional(), Length(max=500)])
    validity_kind = SelectField(_l("有效期"), validators=[DataRequired()])
    validity_years = IntegerField(_l("年数"), default=1, validators=[Optional(), NumberRange(min=0, max=10)])
    issuing_body = StringField(_l("发证单位"), validators=[Optional(), Length(max=100)],
                               description=_l("不填则用持证人所在区的名称"))
    active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class SealForm(FlaskForm):
    district_id = SelectField(_l("区"), coerce=int)
    image = FileField(_l("印章图片（PNG，透明背景为佳，不超过 2 MB）"), validators=[FileRequired()])
    submit = SubmitField(_l("上传印章"))


def _fill(form: TemplateForm) -> None:
    form.layout.choices = opts(LAYOUT_LABELS.items())
    form.validity_kind.choices = opts(VALIDITY_LABELS.items())


@bp.route("/")
@role_required("admin")
def index():
    templates = db.session.scalars(select(CertificateTemplate).order_by(CertificateTemplate.id)).all()
    seal_form = SealForm()
    seal_form.district_id.choices = opts((d.id, d.name) for d in db.session.scalars(select(District).order_by(District.id)))
    return render_template("certificates/templates.html", templates=templates, seal_form=seal_form,
                           layouts=LAYOUT_LABELS, validity=VALIDITY_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit(template_id: int | None = None):
    tpl = db.session.get(CertificateTemplate, template_id) if template_id else None
    if template_id and tpl is None:
        abort(404)
    form = TemplateForm(obj=tpl)
    _fill(form)
    if form.validate_on_submit():
        clash = db.session.scalar(select(CertificateTemplate.id).where(CertificateTemplate.code == form.code.data))
        if clash is not None and (tpl is None or clash != tpl.id):
            form.code.errors.append(_("代码已被使用"))
        else:
            is_new = tpl is None
            tpl = tpl or CertificateTemplate()
            form.populate_obj(tpl)
            tpl.validity_years = form.validity_years.data or (0 if tpl.validity_kind == "none" else 1)
            db.session.add(tpl)
            record("create" if is_new else "update", tpl, summary=tpl.name)
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("certificate_admin.index"))
    return render_template("certificates/template_form.html", form=form, tpl=tpl)


@bp.route("/<int:template_id>/preview.pdf")
@role_required("admin")
def preview(template_id: int):
    """The template with sample data (nothing is saved)."""
    tpl = db.session.get(CertificateTemplate, template_id)
    if tpl is None:
        abort(404)
    issued = service.today()
    sample = Certificate(number="SH-SAMPLE-0000-000000", code="sample-preview-00", holder_name="张三",
                         id_masked="310101********1234", unit_name="上海示例机械有限公司", audience="主要负责人",
                         exam_title="工贸企业重大事故隐患判定标准考试", subject_name="工贸企业重大事故隐患判定标准",
                         score=92, max_score=100, issued_on=issued, valid_until=service.valid_until(tpl, issued),
                         issuing_body=tpl.issuing_body or "示例区", status="valid")
    sample.template = tpl
    data = pdf.render_pages([pdf.page_for(sample)], tpl.layout)
    if sample in db.session:  # attached through the template relationship: never save the sample
        db.session.expunge(sample)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name="preview.pdf")


@bp.route("/seal", methods=["POST"])
@role_required("admin")
def seal():
    form = SealForm()
    form.district_id.choices = opts((d.id, d.name) for d in db.session.scalars(select(District)))
    if not form.validate_on_submit():
        for field in form:
            for error in field.errors:
                flash(f"{field.label.text}：{error}", "danger")
        return redirect(url_for("certificate_admin.index"))
    data = form.image.data.read(files.IMAGE_MAX_BYTES + 1)
    try:
        media_type = files.check_image(data)
    except files.FileRejected as exc:
        flash(str(exc), "danger")
        return redirect(url_for("certificate_admin.index"))
    stored = files.store(data, media_type, form.image.data.filename, current_user.id)
    db.session.flush()
    existing = db.session.get(DistrictSeal, form.district_id.data)
    if existing is None:
        db.session.add(DistrictSeal(district_id=form.district_id.data, image_id=stored.id, updated_at=dt.datetime.now(dt.timezone.utc)))
    else:
        existing.image_id = stored.id
    record("update", db.session.get(District, form.district_id.data), summary=_("证书印章"))
    db.session.commit()
    flash(_("已更新印章；此后新生成的证书使用新印章"), "success")
    return redirect(url_for("certificate_admin.index"))
