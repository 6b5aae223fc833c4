"""Refuse zip archives (xlsx, docx) that would expand to far more than they claim."""
from __future__ import annotations

import io
import zipfile

MAX_MEMBERS = 2000
MAX_TOTAL = 200 * 1024 * 1024
MAX_RATIO = 200


class ZipProblem(ValueError):
    pass


def check_zip(data: bytes) -> None:
    """Raise ZipProblem (with a user message) for a corrupt archive or a zip bomb."""
    from flask_babel import gettext as _

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise ZipProblem(_("文件已损坏，无法打开")) from None
    if len(infos) > MAX_MEMBERS:
        raise ZipProblem(_("文件内部结构异常（条目过多），已拒绝"))
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_TOTAL or total / packed > MAX_RATIO:
        raise ZipProblem(_("文件解压后体积异常（疑似压缩炸弹），已拒绝"))
