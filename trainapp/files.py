"""Small files kept in the database (question images, drill photos): checked by content on the way in.

Keeping them in the database means every app server sees the same files and a backup of the
database is a backup of everything. Large media (course videos) do not belong here.
"""
from __future__ import annotations

import hashlib
import io

from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from trainapp.extensions import db
from trainapp.models import TimestampMixin

IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
_IMAGE_KINDS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class FileRejected(ValueError):
    """An upload that is not what it claims to be, or too big; the message is for the user."""


class StoredFile(TimestampMixin, db.Model):
    __tablename__ = "stored_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)


def check_image(data: bytes, max_bytes: int = IMAGE_MAX_BYTES) -> str:
    """Return the image's media type after checking its content; raise FileRejected otherwise.

    The bytes must decode as PNG, JPEG, GIF or WebP (whatever the file is called); SVG is refused
    because it can carry script.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise FileRejected(_("图片文件是空的"))
    if len(data) > max_bytes:
        raise FileRejected(_("图片超过 %(mb).0f MB 上限", mb=max_bytes / (1024 * 1024)))
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format
            if img.width * img.height > IMAGE_MAX_PIXELS:
                raise FileRejected(_("图片尺寸过大"))
            img.verify()
    except FileRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise FileRejected(_("文件不是可识别的图片（支持 PNG、JPEG、GIF、WebP）")) from None
    if kind not in _IMAGE_KINDS:
        raise FileRejected(_("不支持的图片格式 %(kind)s（支持 PNG、JPEG、GIF、WebP）", kind=kind))
    return _IMAGE_KINDS[kind]


def store(data: bytes, media_type: str, filename: str = "", owner_id: int | None = None) -> StoredFile:
    """Add a checked file to the session (the caller commits)."""
    stored = StoredFile(sha256=hashlib.sha256(data).hexdigest(), media_type=media_type,
                        filename=(filename or "")[:255], size=len(data), data=data, owner_id=owner_id)
    db.session.add(stored)
    return stored


def image_response(image_id: int):
    """Serve a stored image inline to a user the caller has already checked."""
    from flask import Response, abort

    stored = db.session.get(StoredFile, image_id)
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.media_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response
