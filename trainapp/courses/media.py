"""Lesson media: PDFs (kept in the database) and videos (kept on disk), checked by content on the way in.

A PDF must start with ``%PDF-``; a video must be MP4 (an ``ftyp`` box at byte 4) or WebM (an EBML
header naming the ``webm`` doc type), because those are what every browser plays. Whatever the file
is called, anything else is refused with a message the author can act on.

Videos are too big for the database: they are streamed to ``<instance>/media/videos/<sha256>.<ext>``
(the same video uploaded twice is stored once) and the lesson keeps the name relative to
``<instance>/media``.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile

from flask import current_app
from flask_babel import gettext as _

from trainapp.files import FileRejected

PDF_MAX_BYTES = 20 * 1024 * 1024
VIDEO_MAX_BYTES = 200 * 1024 * 1024
# Room for the other fields of the lesson form on top of the largest video.
FORM_OVERHEAD_BYTES = 1024 * 1024
VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
# ISO base-media brands that are still images, not video.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_CHUNK = 1024 * 1024
_DURATION = re.compile(r"^\s*(?:(\d{1,2})[:：])?(\d{1,3})[:：]([0-5]\d)\s*$")
MAX_VIDEO_SECONDS = 24 * 3600


def _mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def check_pdf(data: bytes, max_bytes: int | None = None) -> str:
    """Return the media type of a PDF after checking its content; raise FileRejected otherwise."""
    limit = PDF_MAX_BYTES if max_bytes is None else max_bytes
    if not data:
        raise FileRejected(_("PDF 文件是空的"))
    if len(data) > limit:
        raise FileRejected(_("PDF 文件超过 %(mb)s MB 上限，请压缩或拆分后再上传", mb=_mb(limit)))
    if not data.startswith(b"%PDF-"):
        raise FileRejected(_("文件不是 PDF 文档（内容不符），请上传 PDF 文件"))
    return "application/pdf"


def browser_message() -> str:
    return _("浏览器无法播放此格式，请转换为 MP4（H.264）或 WebM 后上传")


def video_kind(head: bytes) -> str:
    """'mp4' or 'webm' from the first bytes of a file; FileRejected with the browser message otherwise."""
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "webm"
    raise FileRejected(browser_message())


def media_root() -> str:
    return os.path.join(current_app.instance_path, "media")


def video_file(relative: str) -> str | None:
    """Absolute path of a stored video, or None when the name is not one of ours or the file is gone."""
    root = os.path.realpath(os.path.join(media_root(), "videos"))
    path = os.path.realpath(os.path.join(media_root(), relative))
    if os.path.dirname(path) != root or not os.path.isfile(path):
        return None
    return path


def save_video(stream, max_bytes: int | None = None) -> str:
    """Check and store an uploaded video; returns its name relative to the media folder.

    The file is streamed to a temporary file next to its destination while it is hashed, so even
    the largest allowed video never sits in memory.
    """
    limit = VIDEO_MAX_BYTES if max_bytes is None else max_bytes
    head = stream.read(64)
    if not head:
        raise FileRejected(_("视频文件是空的"))
    ext = video_kind(head)
    folder = os.path.join(media_root(), "videos")
    os.makedirs(folder, exist_ok=True)
    digest = hashlib.sha256(head)
    size = len(head)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=f".{ext}")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head)
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileRejected(video_too_big(limit))
                digest.update(chunk)
                out.write(chunk)
        name = f"{digest.hexdigest()}.{ext}"
        os.replace(temp, os.path.join(folder, name))
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return f"videos/{name}"


def video_too_big(limit: int | None = None) -> str:
    return _("视频文件超过 %(mb)s MB 上限，请压缩或剪短后再上传，或改用视频链接",
             mb=_mb(VIDEO_MAX_BYTES if limit is None else limit))


def parse_duration(text: str) -> int | None:
    """'12:30' or '1:02:30' (minutes:seconds, or hours:minutes:seconds) to seconds; None when malformed."""
    m = _DURATION.match(text or "")
    if not m:
        return None
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
    if m.group(1) is not None and minutes > 59:
        return None
    total = hours * 3600 + minutes * 60 + seconds
    return total if 0 < total <= MAX_VIDEO_SECONDS else None


def format_duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
