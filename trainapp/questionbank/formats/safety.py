"""Defences for untrusted uploads: zip bombs, XML bombs, undecodable or garbled text.

Every check raises :class:`Rejected` with a user-facing Chinese message; callers turn it
into a whole-file Problem.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from flask_babel import gettext as _

MAX_ZIP_MEMBERS = 2000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200  # deflate rarely beats ~30x on real Office parts
RATIO_FLOOR = 1024 * 1024  # tiny parts may compress arbitrarily well
_CHUNK = 1024 * 1024


class Rejected(Exception):
    """The upload is unsafe or unreadable; str(exc) is the user-facing reason."""


def zip_names(data: bytes) -> list[str]:
    """Member names of a zip, refusing archives whose directory alone is oversized."""
    tail = data[-(65536 + 22):]
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        raise Rejected(_("文件已损坏，无法作为压缩包（xlsx/docx）打开"))
    entries = int.from_bytes(tail[end + 10:end + 12], "little")
    directory_size = int.from_bytes(tail[end + 12:end + 16], "little")
    # zipfile walks directory_size bytes of entries (>= 46 bytes each), whatever the count says.
    if entries > MAX_ZIP_MEMBERS or directory_size > MAX_ZIP_MEMBERS * 512:  # zip64 (0xFFFF) lands here too
        raise Rejected(_("压缩包内文件过多（%(n)d 个），疑似恶意文件，已拒绝", n=entries))
    try:
        return zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise Rejected(_("文件已损坏，无法作为压缩包（xlsx/docx）打开")) from None


def open_zip(data: bytes, keep: Callable[[str], bool]) -> tuple[zipfile.ZipFile, dict[str, bytes]]:
    """Open a zip after bounding it; return the archive and the bytes of members ``keep`` selects.

    Declared sizes are checked first (member count, total size, compression ratio); then every
    member is inflated once in bounded chunks, so a member whose real size exceeds its declared
    size fails its CRC check here instead of inside a native reader.
    """
    zip_names(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise Rejected(_("文件已损坏，无法作为压缩包（xlsx/docx）打开")) from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise Rejected(_("压缩包内文件过多（%(n)d 个），疑似恶意文件，已拒绝", n=len(infos)))
    if len({info.filename for info in infos}) != len(infos):
        # Readers disagree on which copy of a duplicated name they use; Office never writes one.
        raise Rejected(_("文件内部结构异常（有重名的部件），已拒绝"))
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Rejected(_("文件已加密（设置了密码），请取消密码后再上传"))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Rejected(_("文件使用了不支持的压缩方式，请用 Excel 或 Word 重新保存"))
        total += info.file_size
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Rejected(_("文件解压后体积异常（压缩比超过 %(ratio)d 倍），疑似“压缩炸弹”，已拒绝", ratio=MAX_RATIO))
    if total > MAX_UNZIPPED_BYTES:
        raise Rejected(_("文件解压后超过 %(mb)d MB，疑似“压缩炸弹”，已拒绝", mb=MAX_UNZIPPED_BYTES // (1024 * 1024)))
    kept: dict[str, bytes] = {}
    for info in infos:
        kept_parts: list[bytes] | None = [] if keep(info.filename) else None
        head = b""
        try:
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    if len(head) < 4096:
                        head += chunk[:4096]
                    if kept_parts is not None:
                        kept_parts.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
            raise Rejected(_("文件已损坏（压缩包内的 %(name)s 无法解压）", name=info.filename[:80])) from None
        if _has_dtd(head):
            raise Rejected(_("文件内的 XML 含有 DTD 或实体声明，出于安全考虑已拒绝"))
        if kept_parts is not None:
            kept[info.filename] = b"".join(kept_parts)
    return archive, kept


_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _has_dtd(head: bytes) -> bool:
    # A DTD must precede the root element, so the first few KB are enough; UTF-16 XML is
    # checked after removing NUL bytes.
    return bool(_DTD.search(head) or _DTD.search(head.replace(b"\x00", b"")))


def parse_xml(data: bytes) -> Element:
    """Parse XML with DTDs, entities and external references forbidden."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise Rejected(_("XML 文件含有 DTD 或实体声明（可能是“XML 炸弹”或外部实体攻击），出于安全考虑已拒绝")) from None
    except ParseError as exc:
        line = getattr(exc, "position", (0, 0))[0]
        raise Rejected(_("XML 格式错误（第 %(line)d 行附近），无法读取", line=line)) from None
    except (ValueError, RecursionError, MemoryError):
        raise Rejected(_("XML 格式错误，无法读取")) from None


# --- text decoding ----------------------------------------------------------

_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_RUN = re.compile(r"[\u00a0-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2122]{2,}")
_GARBAGE_MARKERS = ("锟斤拷", "烫烫烫", "屯屯屯", "ï»¿")


def decode_text(data: bytes) -> str:
    """Decode an uploaded text file (UTF-8, UTF-8 BOM, UTF-16 BOM, GB18030/GBK) or refuse it."""
    text = _decode(data)
    reason = mojibake_reason(text)
    if reason:
        raise Rejected(reason)
    return text


def _decode(data: bytes) -> str:
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
    except UnicodeDecodeError:
        raise Rejected(_("文件编码与其开头的标记不符，内容已损坏")) from None
    if b"\x00" in data[:65536]:
        raise Rejected(_("这不是文本文件（包含二进制数据）"))
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _looks_binary(text):
            return text
    raise Rejected(_("无法识别文件编码：请另存为 UTF-8（或 GBK）编码的文本后再上传"))


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    control = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n\f\v")
    return control > max(3, len(sample) // 1000)


def mojibake_reason(text: str) -> str | None:
    """Explain why decoded text looks garbled (wrong-encoding round trips), or None."""
    if "\ufffd" in text:
        return _("文件中有乱码字符“�”，说明它在转换编码时已经损坏，请用原始文件重新导出")
    for marker in _GARBAGE_MARKERS:
        if marker in text:
            return _("文件中有典型乱码“%(marker)s”，请检查文件编码后重新导出", marker=marker)
    # UTF-8 bytes shown as GBK ("棰樺共") or as Windows-1252 ("é¢˜å¹²") and saved again.
    if _recovered_cjk(text, _CJK_RUN, "gbk") or _recovered_cjk(text, _LATIN_RUN, "cp1252", "latin-1"):
        return _("文件内容疑似乱码（UTF-8 与 GBK 编码混用），请用 Excel 或记事本另存为“UTF-8”编码后再上传")
    visible = [ch for ch in text if not ch.isspace()]
    questions = sum(1 for ch in visible if ch == "?")
    if questions >= 20 and questions > 0.25 * len(visible):
        return _("文件中大量文字变成了“?”，可能是保存时选错了编码，请重新导出")
    return None


def _recovered_cjk(text: str, runs: re.Pattern, *encodings: str) -> bool:
    """True when re-encoding suspicious runs turns most of their bytes into real Chinese."""
    total_bytes = recovered = 0
    for match in runs.finditer(text):
        for encoding in encodings:
            try:
                raw = match.group(0).encode(encoding)
            except UnicodeEncodeError:
                continue
            total_bytes += len(raw)
            recovered += len(_CJK.findall(raw.decode("utf-8", errors="replace")))
            break
        if total_bytes > 60000:
            break
    # Each recovered character accounts for three UTF-8 bytes.
    return recovered >= 4 and 3 * recovered >= 0.5 * total_bytes
