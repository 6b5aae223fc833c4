"""Certificates on the web: public verification, the learner's own, lists in scope, batch print, revocation."""
from __future__ import annotations

import datetime as dt
import io

from flask import (
    Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from trainapp.auth.decorators import role_required
from trainapp.auth.scope import enterprise_criterion, scoped, street_criterion
from trainapp.certificates import batch, pdf, service
from trainapp.certificates.models import BatchJob, Certificate
from trainapp.extensions import db, limiter
from trainapp.org.models import Enterprise, Sector, Street

bp = Blueprint("certificates", __name__)
LIST_ROLES = ("admin", "manager", "enterprise_admin", "regulator")
REVOKE_ROLES = ("admin", "manager")
STATES = ("valid", "expired", "revoked", "superseded")


class VerifyForm(FlaskForm):
    number = StringField(_l("证书编号"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("持证人姓名"), validators=[DataRequired(), Length(max=50)])
    submit = SubmitField(_l("核验"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因"), validators=[DataRequired(), Length(max=300)])


def _public_view(cert: Certificate | None) -> dict:
    """Only what the public page may show."""
    if cert is None:
        return {"state": "not_found"}
    view = {
        "state": cert.state(service.today()), "number": cert.number, "holder": service.mask_name(cert.holder_name),
        "unit": cert.unit_name, "exam": cert.exam_title, "subject": cert.subject_name,
        "issued_on": cert.issued_on.isoformat(),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
        "issuing_body": cert.issuing_body,
    }
    if cert.superseded_by is not None:
        view["superseded_by"] = cert.superseded_by.number
    return view


# --- public verification ------------------------------------------------------------

@bp.route("/verify/<token>")
@limiter.limit("60/minute")
def verify(token: str):
    as_json = token.endswith(".json")
    token = token[:-5] if as_json else token
    cert = service.find_by_token(token)
    service.log_verification(cert, "json" if as_json else "qr")
    view = _public_view(cert)
    if as_json:
        return jsonify(view), 200 if cert else 404
    return render_template("certificates/verify.html", v=view, form=VerifyForm(formdata=None)), 200 if cert else 404


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def verify_by_number():
    form = VerifyForm()
    view = None
    if form.validate_on_submit():
        cert = service.find_by_number_and_name(form.number.data, form.name.data)
        service.log_verification(cert, "number")
        view = _public_view(cert)
    return render_template("certificates/verify.html", v=view, form=form)


# --- the learner's own ---------------------------------------------------------------

def _visible(cert_id: int) -> Certificate:
    """The user's own certificate, or one in their scope; 404 otherwise."""
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    if cert.user_id == current_user.id:
        return cert
    if current_user.has_role(*LIST_ROLES) and db.session.scalar(select(Certificate.id).where(
            Certificate.id == cert.id, _scope())) is not None:
        return cert
    abort(404)


def _scope():
    return scoped(current_user, Certificate.street_id, Certificate.sector_id, Certificate.enterprise_id)


@bp.route("/certificates/mine")
@login_required
def mine():
    certs = db.session.scalars(select(Certificate).where(Certificate.user_id == current_user.id)
                               .order_by(Certificate.issued_on.desc(), Certificate.id.desc())).all()
    return render_template("certificates/mine.html", certs=certs, today=service.today(),
                           urls={c.id: service.verify_url(c) for c in certs})


@bp.route("/certificates/<int:cert_id>.pdf")
@login_required
def download(cert_id: int):
    cert = _visible(cert_id)
    return send_file(io.BytesIO(pdf.stored_pdf(cert)), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{cert.number}.pdf", max_age=0)


@bp.route("/certificates/<int:cert_id>/credential.json")
@login_required
def credential(cert_id: int):
    """An Open Badges 3.0 style credential (unsigned JSON) of the learner's own certificate."""
    cert = db.session.get(Certificate, cert_id)
    if cert is None or cert.user_id != current_user.id:
        abort(404)
    response = jsonify(service.open_badge(cert))
    response.headers["Content-Disposition"] = f'attachment; filename="{cert.number}.json"'
    return response


# --- lists in scope ------------------------------------------------------------------

def _filtered(args):
    stmt = select(Certificate).where(_scope())
    if args.get("enterprise", type=int):
        stmt = stmt.where(Certificate.enterprise_id == args.get("enterprise", type=int))
    if args.get("street", type=int):
        stmt = stmt.where(Certificate.street_id == args.get("street", type=int))
    if args.get("sector", type=int):
        stmt = stmt.where(Certificate.sector_id == args.get("sector", type=int))
    today = service.today()
    state = args.get("state")
    if state == "valid":
        stmt = stmt.where(Certificate.status == "valid",
                          (Certificate.valid_until.is_(None)) | (Certificate.valid_until >= today))
    elif state == "expired":
        stmt = stmt.where(Certificate.status == "valid", Certificate.valid_until < today)
    elif state in ("revoked", "superseded"):
        stmt = stmt.where(Certificate.status == state)
    days = args.get("expiring", type=int)
    if days:
        stmt = stmt.where(Certificate.status == "valid", Certificate.valid_until >= today,
                          Certificate.valid_until <= today + dt.timedelta(days=min(days, 3650)))
    q = (args.get("q") or "").strip()
    if q:
        stmt = stmt.where(Certificate.holder_name.contains(q, autoescape=True)
                          | Certificate.number.contains(q.upper(), autoescape=True))
    return stmt


@bp.route("/certificates/")
@role_required(*LIST_ROLES)
def index():
    stmt = _filtered(request.args)
    order = Certificate.valid_until if request.args.get("expiring") else Certificate.issued_on.desc()
    page = db.paginate(stmt.order_by(order, Certificate.id), per_page=50, error_out=False)
    enterprises = db.session.scalars(select(Enterprise).where(enterprise_criterion(current_user))
                                     .order_by(Enterprise.name).limit(500)).all()
    streets = db.session.scalars(select(Street).where(street_criterion(current_user)).order_by(Street.id)).all()
    sectors = db.session.scalars(select(Sector).order_by(Sector.id)).all()
    batch.prepare_workers()
    return render_template("certificates/index.html", page=page, enterprises=enterprises, streets=streets,
                           sectors=sectors, today=service.today(), form=FlaskForm(), reason_form=ReasonForm(),
                           can_revoke=current_user.has_role(*REVOKE_ROLES))


@bp.route("/certificates/batch", methods=["POST"])
@role_required(*LIST_ROLES)
@limiter.limit("10/minute")
def batch_create():
    if not FlaskForm().validate_on_submit():
        abort(400)
    kind = request.form.get("kind", "pdf")
    if kind not in ("pdf", "zip"):
        abort(400)
    if request.form.get("scope") == "filtered":
        ids = list(db.session.scalars(_filtered(request.form).with_only_columns(Certificate.id)
                                      .order_by(Certificate.enterprise_id, Certificate.holder_name, Certificate.id)
                                      .limit(batch.MAX_BATCH + 1)))
    else:
        wanted = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
        ids = list(db.session.scalars(select(Certificate.id).where(Certificate.id.in_(wanted), _scope())
                                      .order_by(Certificate.id))) if wanted else []
    if not ids:
        flash(_("没有选中任何证书"), "warning")
        return redirect(url_for("certificates.index"))
    if len(ids) > batch.MAX_BATCH:
        flash(_("一次最多批量打印 %(n)d 份，请缩小筛选范围", n=batch.MAX_BATCH), "warning")
        return redirect(url_for("certificates.index"))
    job = batch.create(current_user.id, ids, kind)
    if current_app.config.get("CERTIFICATE_BATCH_INLINE"):
        batch.run(job.id)
    else:
        batch.start_in_background(job.id)
    return redirect(url_for("certificates.batch_status", job_id=job.id))


def _own_job(job_id: int) -> BatchJob:
    job = db.session.scalar(select(BatchJob).where(BatchJob.id == job_id, BatchJob.user_id == current_user.id))
    if job is None:
        abort(404)
    return job


@bp.route("/certificates/batch/<int:job_id>")
@role_required(*LIST_ROLES)
def batch_status(job_id: int):
    job = _own_job(job_id)
    if request.args.get("format") == "json":
        return jsonify(status=job.status, done=job.done, total=job.total, error=job.error,
                       download=url_for("certificates.batch_download", job_id=job.id) if job.status == "done" else None)
    return render_template("certificates/batch.html", job=job)


@bp.route("/certificates/batch/<int:job_id>/download")
@role_required(*LIST_ROLES)
def batch_download(job_id: int):
    job = _own_job(job_id)
    if job.status != "done" or job.result is None:
        abort(404)
    name = f"certificates-{job.id}.{job.kind}"
    return send_file(io.BytesIO(job.result), mimetype="application/pdf" if job.kind == "pdf" else "application/zip",
                     as_attachment=True, download_name=name)


# --- revocation ---------------------------------------------------------------------------

def _revocable(cert_id: int) -> Certificate:
    cert = db.session.scalar(select(Certificate).where(Certificate.id == cert_id, _scope()))
    if cert is None:
        abort(404)
    return cert


@bp.route("/certificates/<int:cert_id>/revoke", methods=["POST"])
@role_required(*REVOKE_ROLES)
def revoke(cert_id: int):
    cert = _revocable(cert_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("撤销或补发时请填写原因"), "danger")
    elif cert.status != "valid":
        flash(_("该证书已不是有效状态"), "warning")
    elif request.form.get("action") == "reissue":
        new = service.reissue(cert, form.reason.data, current_user._get_current_object())
        db.session.commit()
        flash(_("已撤销 %(old)s 并补发 %(new)s", old=cert.number, new=new.number), "success")
    else:
        service.revoke(cert, form.reason.data, current_user._get_current_object())
        db.session.commit()
        flash(_("已撤销证书 %(n)s", n=cert.number), "info")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else
                    url_for("certificates.index"))
