"""Uploads held between a preview and its confirmation, and content checks on upload bytes.

The file is kept in the database rather than on local disk so that any app server can
confirm a preview another one produced.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, delete
from sqlalchemy.orm import Mapped, mapped_column

from trainapp.extensions import db
from trainapp.models import utcnow

PENDING_TTL = dt.timedelta(hours=2)


class PendingUpload(db.Model):
    __tablename__ = "pending_upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    context: Mapped[str] = mapped_column(String(1000), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def keep(user_id: int, kind: str, filename: str, data: bytes, context: str = "") -> PendingUpload:
    """Store an upload for later confirmation and drop this user's stale ones."""
    cutoff = utcnow() - PENDING_TTL
    db.session.execute(delete(PendingUpload).where(PendingUpload.created_at < cutoff))
    up = PendingUpload(token=secrets.token_urlsafe(24), user_id=user_id, kind=kind,
                       filename=filename[:255], data=data, context=context)
    db.session.add(up)
    db.session.flush()
    return up


def fetch(token: str, user_id: int, kind: str) -> PendingUpload | None:
    """Return the user's own pending upload of this kind, or None."""
    up = db.session.scalar(db.select(PendingUpload).filter_by(token=token, user_id=user_id, kind=kind))
    if up is None:
        return None
    created = up.created_at if up.created_at.tzinfo else up.created_at.replace(tzinfo=dt.timezone.utc)
    if created < utcnow() - PENDING_TTL:
        return None
    return up


ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff_table(data: bytes) -> str | None:
    """Tell a spreadsheet upload's real kind from its bytes: 'xlsx', 'xls', 'csv' or None."""
    if data.startswith(ZIP_MAGIC):
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return None
        return "xlsx" if "xl/workbook.xml" in names else None
    if data.startswith(OLE_MAGIC):
        return "xls"
    head = data[:4096]
    if b"\x00" in head:
        return None
    return "csv"
