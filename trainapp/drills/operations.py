"""State changes for drills: save a record, attach checked files, record participants. Never commits."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trainapp.drills.models import Drill, DrillAttachment, DrillParticipant
from trainapp.extensions import db
from trainapp.files import FileRejected, check_image, store
from trainapp.models import utcnow
from trainapp.org.models import Person

PHOTO_MAX_BYTES = 2 * 1024 * 1024
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
FIELDS = ("held_on", "kind", "scenario", "organiser", "departments", "participants", "headcount_on_duty",
          "evacuation_seconds", "problems", "measures", "revision_state", "revision_closed_on", "revision_notes",
          "signed_by", "signed_on")


def check_document(data: bytes, max_bytes: int = DOCUMENT_MAX_BYTES) -> str:
    """A PDF by its content (the %PDF- header), within the size limit; raise FileRejected otherwise."""
    if not data:
        raise FileRejected(_("文件是空的"))
    if len(data) > max_bytes:
        raise FileRejected(_("文件超过 %(mb).0f MB 上限", mb=max_bytes / (1024 * 1024)))
    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise FileRejected(_("文件内容不是 PDF"))
    return "application/pdf"


def checked_files(photos, documents) -> tuple[list[tuple[str, str, bytes, str]], list[str]]:
    """Read uploaded photos and PDFs; returns ([(kind, filename, bytes, media type)], [error messages])."""
    accepted, errors = [], []
    for kind, uploads, check, limit in (("photo", photos, check_image, PHOTO_MAX_BYTES),
                                        ("document", documents, check_document, DOCUMENT_MAX_BYTES)):
        for up in uploads or []:
            if up is None or not getattr(up, "filename", ""):
                continue
            data = up.read(limit + 1)
            try:
                media_type = check(data, limit)
            except FileRejected as exc:
                errors.append(f"{up.filename}：{exc}")
                continue
            accepted.append((kind, up.filename, data, media_type))
    return accepted, errors


def attach(drill: Drill, files: list[tuple[str, str, bytes, str]], owner_id: int | None) -> int:
    """Store checked files and link them to the drill; returns how many."""
    for kind, filename, data, media_type in files:
        stored = store(data, media_type, filename, owner_id=owner_id)
        db.session.flush()
        db.session.add(DrillAttachment(drill_id=drill.id, file_id=stored.id, kind=kind))
    db.session.flush()
    return len(files)


def attachment_room(drill: Drill | None) -> int:
    if drill is None or drill.id is None:
        return MAX_ATTACHMENTS
    used = db.session.scalar(select(func.count(DrillAttachment.id)).where(DrillAttachment.drill_id == drill.id))
    return MAX_ATTACHMENTS - (used or 0)


def duplicate_of(enterprise_id: int, held_on: dt.date, kind: str, own_id: int | None = None) -> Drill | None:
    """The drill already recorded for this enterprise, day and kind (other than `own_id`), if any."""
    stmt = select(Drill).where(Drill.enterprise_id == enterprise_id, Drill.held_on == held_on, Drill.kind == kind)
    if own_id is not None:
        stmt = stmt.where(Drill.id != own_id)
    return db.session.scalar(stmt)


def apply_values(drill: Drill, values: dict) -> None:
    for name in FIELDS:
        if name in values:
            setattr(drill, name, values[name])
    if drill.revision_state != "closed":
        drill.revision_closed_on = None


# --- participants ---------------------------------------------------------------------------

def participant_count(drill_id: int) -> int:
    return db.session.scalar(select(func.count(DrillParticipant.id)).where(DrillParticipant.drill_id == drill_id)) or 0


def add_participant(drill: Drill, person: Person, method: str, now: dt.datetime | None = None) -> bool:
    """Record one participant; False if already recorded. Racing requests insert at most one row.

    The reported number of participants is raised to the number recorded by name when it is lower.
    """
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new_id = db.session.scalar(
        insert(DrillParticipant).values(drill_id=drill.id, person_id=person.id, method=method, at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["drill_id", "person_id"]).returning(DrillParticipant.id))
    if new_id is None:
        return False
    recorded = min(participant_count(drill.id), drill.headcount_on_duty)  # the check constraint holds under races
    if recorded > drill.participants:
        drill.participants = recorded
    db.session.flush()
    return True


def signin_refusal(drill: Drill, person: Person | None, on: dt.date) -> str | None:
    """Why this person may not sign in to the drill on `on` (a code), or None."""
    if person is None:
        return "no_person"
    if db.session.scalar(select(DrillParticipant.id).where(DrillParticipant.drill_id == drill.id,
                                                           DrillParticipant.person_id == person.id)):
        return "already"
    if person.enterprise_id != drill.enterprise_id:
        return "wrong_unit"
    if person.status != "active":
        return "inactive"
    if not drill.held_on <= on <= drill.held_on + dt.timedelta(days=1):
        return "closed"
    if participant_count(drill.id) >= drill.headcount_on_duty:
        return "full"
    return None
