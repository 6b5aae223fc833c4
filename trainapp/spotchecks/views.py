"""Inspector pages (signed in): start a spot check at an enterprise, show its QR, record oral questions and
notes, see the results; managers' summary per street and sector; the archive hooks."""
from __future__ import annotations

import base64
import datetime as dt
import random

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from trainapp.audit import record
from trainapp.auth.decorators import role_required
from trainapp.auth.scope import enterprise_criterion, sector_family
from trainapp.extensions import db
from trainapp.formutil import opts
from trainapp.models import utcnow
from trainapp.org.models import Enterprise, Person, Sector, Street
from trainapp.questionbank.models import QuestionBank
from trainapp.questionbank.qtypes import LETTERS, REGISTRY
from trainapp.spotchecks import queries, service
from trainapp.spotchecks.forms import MATCH_LABELS, QUALITY_LABELS, NotesForm, OralForm, StartForm, quality_choices
from trainapp.spotchecks.models import SpotCheck, SpotCheckAnswer, SpotCheckOral, SpotCheckPreset
from trainapp.spotchecks.service import INSPECT_ROLES, VIEW_ROLES, SpotCheckError

bp = Blueprint("spotchecks", __name__, url_prefix="/spotchecks")
PER_PAGE = 30


@bp.context_processor
def _labels():
    return {"match_labels": MATCH_LABELS, "quality_labels": QUALITY_LABELS, "types": REGISTRY, "letters": LETTERS}


# --- the QR --------------------------------------------------------------------------------------

def answer_url(check: SpotCheck) -> str:
    """What the QR carries: the public answer page of this check (its token is the only key)."""
    return f"{current_app.config['TRAINAPP_BASE_URL']}{url_for('spotcheck_public.answer', token=check.token)}"


def qr_data_uri(check: SpotCheck) -> str:
    from trainapp.certificates.pdf import qr_svg

    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(answer_url(check))).decode("ascii")


# --- fetching -------------------------------------------------------------------------------------

def _visible_or_404(check_id: int) -> SpotCheck:
    check = db.session.scalar(select(SpotCheck).where(SpotCheck.id == check_id,
                                                      service.visible_criterion(current_user)))
    if check is None:
        abort(404)
    return check


def _managed_or_404(check_id: int) -> SpotCheck:
    """A check the user runs; 404 when out of scope, 403 when only visible (an enterprise admin's own)."""
    check = _visible_or_404(check_id)
    if not service.may_inspect(current_user, check.enterprise_id):
        abort(403)
    return check


def _inspectable_or_404(enterprise_id: int) -> Enterprise:
    ent = db.session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                     service.inspect_criterion(current_user)))
    if ent is None:
        abort(404)
    return ent


# --- list ------------------------------------------------------------------------------------------

@bp.route("/")
@role_required(*VIEW_ROLES)
def index():
    stmt = (select(SpotCheck).where(service.visible_criterion(current_user))
            .order_by(SpotCheck.opens_at.desc(), SpotCheck.id.desc()))
    if ent_id := request.args.get("enterprise", type=int):
        stmt = stmt.where(SpotCheck.enterprise_id == ent_id)
    page = db.paginate(stmt, per_page=PER_PAGE, error_out=False)
    lines = {ln.check.id: ln for ln in queries.lines_for(list(page.items))}
    return render_template("spotchecks/index.html", page=page, lines=lines, now=utcnow(),
                           can_start=current_user.has_role(*INSPECT_ROLES))


# --- starting a check -----------------------------------------------------------------------------

def _paper_choices(ent: Enterprise) -> list[tuple[str, str]]:
    standard = service.standard_banks(ent)
    names = "、".join(b.name for b in standard) if standard else _("暂无")
    choices = [("std", _("本行业隐患判定标准（%(banks)s）", banks=names))]
    presets = db.session.scalars(select(SpotCheckPreset).order_by(SpotCheckPreset.name, SpotCheckPreset.id)).all()
    choices += [(f"p:{p.id}", _("常用：%(name)s（%(n)d 题）", name=p.name, n=p.count)) for p in presets]
    banks = db.session.scalars(select(QuestionBank).where(QuestionBank.status == "active")
                               .order_by(QuestionBank.subject, QuestionBank.name)).all()
    choices += [(f"b:{b.id}", _("题库：%(name)s", name=b.name)) for b in banks]
    return choices


def _resolve_paper(ent: Enterprise, form: StartForm):
    """(banks, count, tag, note, preset bank id or None) for the chosen paper; None when the choice is stale."""
    choice = form.paper.data or ""
    count, tag = form.count.data, (form.tag.data or "").strip()
    if choice.startswith("p:") and choice[2:].isdigit():
        preset = db.session.get(SpotCheckPreset, int(choice[2:]))
        if preset is None:
            return None
        count, tag = preset.count, preset.tag
        banks = [preset.bank] if preset.bank_id else service.standard_banks(ent)
        return banks, count, tag, _("常用试卷：%(name)s", name=preset.name), preset.bank_id
    if choice.startswith("b:") and choice[2:].isdigit():
        bank = db.session.get(QuestionBank, int(choice[2:]))
        if bank is None or bank.status != "active":
            return None
        return [bank], count, tag, bank.name, bank.id
    banks = service.standard_banks(ent)
    return banks, count, tag, "、".join(b.name for b in banks), None


@bp.route("/new", methods=["GET", "POST"])
@role_required(*INSPECT_ROLES)
def new():
    ent_id = request.args.get("enterprise", type=int)
    if not ent_id:
        return _pick_enterprise()
    ent = _inspectable_or_404(ent_id)
    form = StartForm()
    form.paper.choices = opts(_paper_choices(ent))
    if form.validate_on_submit():
        resolved = _resolve_paper(ent, form)
        if resolved is None:
            form.paper.errors.append(_("该试卷已不存在，请重新选择"))
        else:
            banks, count, tag, note, bank_id = resolved
            try:
                check = service.create_check(ent, current_user, banks, count, tag, form.minutes.data,
                                             (form.title.data or "").strip(), note, rng=random.SystemRandom())
            except SpotCheckError as exc:
                form.paper.errors.append(str(exc))
            else:
                if name := (form.preset_name.data or "").strip():
                    db.session.add(SpotCheckPreset(name=name, bank_id=bank_id, count=count, tag=tag,
                                                   owner_id=current_user.id))
                record("create", check, summary=f"{check.title} ({ent.name})", enterprise=ent.id,
                       questions=count, minutes=form.minutes.data)
                db.session.commit()
                return redirect(url_for("spotchecks.detail", check_id=check.id))
    presets = db.session.scalars(select(SpotCheckPreset).where(SpotCheckPreset.owner_id == current_user.id)
                                 .order_by(SpotCheckPreset.name, SpotCheckPreset.id)).all()
    return render_template("spotchecks/new.html", form=form, ent=ent, presets=presets)


def _pick_enterprise():
    """Without an enterprise: search the units in scope by name (phones: no long lists)."""
    q = request.args.get("q", "").strip()
    ents = []
    if q:
        ents = db.session.scalars(select(Enterprise).where(service.inspect_criterion(current_user),
                                                           Enterprise.name.contains(q, autoescape=True))
                                  .order_by(Enterprise.name, Enterprise.id).limit(20)).all()
    return render_template("spotchecks/pick.html", q=q, ents=ents)


# --- one check -----------------------------------------------------------------------------------

def _oral_form(check: SpotCheck) -> OralForm:
    form = OralForm()
    form.person_id.choices = opts([(0, "—")] + [(p.id, p.name) for p in service.staff_choices(check)])
    form.quality.choices = quality_choices()
    return form


def _detail_page(check: SpotCheck, oral_form: OralForm | None = None, code: int = 200):
    manage = service.may_inspect(current_user, check.enterprise_id)
    state = service.window_state(check)
    return render_template("spotchecks/detail.html", check=check, manage=manage, state=state,
                           res=service.results(check),
                           qr=qr_data_uri(check) if manage and state == "open" else None,
                           url=answer_url(check) if manage else None,
                           oral_form=(oral_form or _oral_form(check)) if manage else None,
                           notes_form=NotesForm(notes=check.notes) if manage else None), code


@bp.route("/<int:check_id>")
@role_required(*VIEW_ROLES)
def detail(check_id: int):
    return _detail_page(_visible_or_404(check_id))


@bp.route("/<int:check_id>/live")
@role_required(*VIEW_ROLES)
def live(check_id: int):
    """The results block alone, for the page to refresh itself while workers answer."""
    check = _visible_or_404(check_id)
    return render_template("spotchecks/_results.html", check=check, res=service.results(check),
                           state=service.window_state(check))


@bp.route("/<int:check_id>/close", methods=["POST"])
@role_required(*INSPECT_ROLES)
def close(check_id: int):
    check = _managed_or_404(check_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if service.close_check(check):
        record("close", check, summary=check.title)
        db.session.commit()
        flash(_("已结束答题，二维码失效"), "success")
    return redirect(url_for("spotchecks.detail", check_id=check.id))


@bp.route("/<int:check_id>/oral", methods=["POST"])
@role_required(*INSPECT_ROLES)
def oral_add(check_id: int):
    check = _managed_or_404(check_id)
    form = _oral_form(check)
    if form.validate_on_submit():
        person = None
        if form.person_id.data:
            person = db.session.scalar(select(Person).where(Person.id == form.person_id.data,
                                                            Person.enterprise_id == check.enterprise_id))
        name = person.name if person else (form.answered_by.data or "")
        oral = service.add_oral(check, form.question.data, form.quality.data, name, form.note.data or "",
                                person.id if person else None)
        record("add_oral", check, summary=f"{check.title}: {oral.question[:100]}", oral=oral.id)
        db.session.commit()
        flash(_("已记录提问"), "success")
        return redirect(url_for("spotchecks.detail", check_id=check.id, _anchor="oral"))
    return _detail_page(check, oral_form=form, code=400)


@bp.route("/<int:check_id>/oral/<int:oral_id>/delete", methods=["POST"])
@role_required(*INSPECT_ROLES)
def oral_delete(check_id: int, oral_id: int):
    check = _managed_or_404(check_id)
    oral = db.session.scalar(select(SpotCheckOral).where(SpotCheckOral.id == oral_id,
                                                         SpotCheckOral.spot_check_id == check.id))
    if oral is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record("delete_oral", check, summary=f"{check.title}: {oral.question[:100]}", question=oral.question,
           quality=oral.quality, answered_by=oral.answered_by)
    db.session.delete(oral)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("spotchecks.detail", check_id=check.id, _anchor="oral"))


@bp.route("/<int:check_id>/notes", methods=["POST"])
@role_required(*INSPECT_ROLES)
def notes(check_id: int):
    check = _managed_or_404(check_id)
    form = NotesForm()
    if form.validate_on_submit():
        check.notes = (form.notes.data or "").strip()
        record("update", check, summary=check.title, notes=check.notes[:300])
        db.session.commit()
        flash(_("已保存"), "success")
    else:
        for err in form.notes.errors:
            flash(f"{form.notes.label.text}：{err}", "danger")
    return redirect(url_for("spotchecks.detail", check_id=check.id, _anchor="notes"))


@bp.route("/presets/<int:preset_id>/delete", methods=["POST"])
@role_required(*INSPECT_ROLES)
def preset_delete(preset_id: int):
    preset = db.session.get(SpotCheckPreset, preset_id)
    if preset is None:
        abort(404)
    if preset.owner_id != current_user.id and not current_user.has_role("admin"):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    db.session.delete(preset)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("spotchecks.index"))


# --- across checks ---------------------------------------------------------------------------------

def _date_arg(name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


@bp.route("/summary")
@role_required(*INSPECT_ROLES)
def summary():
    """Per street and sector in scope: checks, answers, mean score; and the questions answered worst."""
    today = utcnow().astimezone(service.SHANGHAI).date()
    start = _date_arg("start", dt.date(today.year, 1, 1))
    end = _date_arg("end", today)
    crit = service.inspect_criterion(current_user)
    street_id = request.args.get("street", type=int) or None
    sector_id = request.args.get("sector", type=int) or None
    sector_ids = sector_family(sector_id) if sector_id else None
    where = crit
    if street_id:
        where = where & (Enterprise.street_id == street_id)
    if sector_ids:
        where = where & Enterprise.sector_id.in_(sector_ids)
    end_excl = end + dt.timedelta(days=1)
    rows = service.spot_check_summary(where, start, end_excl)
    weak = service.weakest_questions(where, start, end_excl, limit=10)
    streets = db.session.scalars(select(Street).where(Street.id.in_(
        select(Enterprise.street_id).where(enterprise_criterion(current_user, INSPECT_ROLES)))).order_by(Street.id)).all()
    sectors = db.session.scalars(select(Sector).order_by(Sector.id)).all()
    totals = (sum(r.checks for r in rows), sum(r.answers for r in rows))
    return render_template("spotchecks/summary.html", rows=rows, weak=weak, start=start, end=end,
                           streets=streets, sectors=sectors, street_id=street_id, sector_id=sector_id, totals=totals)


# --- hooks for other pages (archives, the enterprise page) ------------------------------------------------

@bp.app_template_global("spot_check_can_start")
def can_start(enterprise_id: int) -> bool:
    """Whether the signed-in user may start a spot check at this enterprise."""
    return (current_user.is_authenticated and current_user.has_role(*INSPECT_ROLES)
            and service.may_inspect(current_user, enterprise_id))


@bp.app_template_global("spot_check_enterprise_lines")
def enterprise_lines(enterprise_id: int) -> list[queries.CheckLine]:
    """Spot checks at the enterprise (for its archive page, whose view already checked the scope)."""
    return queries.enterprise_lines(enterprise_id)


@bp.app_template_global("spot_check_person_answers")
def person_answers(person_id: int) -> list[tuple[SpotCheckAnswer, bool]]:
    """A person's matched spot-check answers, each with whether the user may open the check's page."""
    answers = queries.person_answers(person_id)
    if not answers or not current_user.is_authenticated or not current_user.has_role(*VIEW_ROLES):
        return [(a, False) for a in answers]
    ids = [a.spot_check_id for a in answers]
    visible = set(db.session.scalars(select(SpotCheck.id).where(SpotCheck.id.in_(ids),
                                                                service.visible_criterion(current_user))))
    return [(a, a.spot_check_id in visible) for a in answers]


@bp.app_template_global("spot_check_person_orals")
def person_orals(person_id: int) -> list[SpotCheckOral]:
    return queries.person_orals(person_id)
