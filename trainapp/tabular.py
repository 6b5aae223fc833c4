"""Reading uploaded spreadsheets (xlsx or csv) into rows of strings, with clear errors."""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _

from trainapp.uploads import sniff_table


class TableError(ValueError):
    """The file as a whole cannot be read; the message is for the user."""


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, header -> text)


def decode_text(data: bytes) -> str:
    """Decode CSV bytes (UTF-8, UTF-8 BOM, GB18030/GBK), refusing mojibake; one rule for every upload."""
    from trainapp.questionbank.formats.safety import Rejected
    from trainapp.questionbank.formats.safety import decode_text as decode_upload

    try:
        return decode_upload(data)
    except Rejected as exc:
        raise TableError(str(exc)) from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    text = str(value).strip()
    return text


def read_table(data: bytes, filename: str, required: list[str], optional: list[str],
               aliases: dict[str, str] | None = None) -> Table:
    """Read the first sheet of an xlsx or a CSV into rows keyed by canonical header.

    Raises TableError for an empty file, a file that is not a spreadsheet whatever its
    name says, or missing headers (naming what was found).
    """
    if not data:
        raise TableError(_("文件为空"))
    kind = sniff_table(data)
    if kind is None or (kind == "csv" and filename.lower().endswith((".xlsx", ".xls"))):
        raise TableError(_("文件内容不是 Excel（.xlsx）或 CSV 表格，请使用下载的模板"))
    if kind == "xls":
        raise TableError(_("不支持旧版 .xls 格式，请另存为 .xlsx"))
    raw_rows = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    raw_rows = iter(raw_rows)
    header_row = None
    for header_row in raw_rows:
        if any(_cell_text(c) for c in header_row):
            break
    else:
        raise TableError(_("文件为空"))
    aliases = aliases or {}
    headers = [_canonical(_cell_text(h), aliases) for h in header_row]
    missing = [h for h in required if h not in headers]
    if missing:
        raise TableError(_("缺少必需的列：%(missing)s；文件中的列为：%(found)s",
                           missing="、".join(missing),
                           found="、".join(h for h in headers if h) or _("（无）")))
    wanted = {h: i for i, h in enumerate(headers) if h in required or h in optional}
    rows: list[tuple[int, dict[str, str]]] = []
    for number, raw in enumerate(raw_rows, start=2):
        values = {h: _cell_text(raw[i]) if i < len(raw) else "" for h, i in wanted.items()}
        if any(values.values()):
            rows.append((number, values))
    return Table(headers=[h for h in headers if h], rows=rows)


def _canonical(header: str, aliases: dict[str, str]) -> str:
    key = re.sub(r"[\s*＊:：()（）]", "", header)
    return aliases.get(key, key)


def _xlsx_rows(data: bytes):
    from python_calamine import CalamineWorkbook

    from trainapp.questionbank.formats.safety import Rejected, open_zip
    from trainapp.questionbank.formats.xlsx import check_calamine_safe

    try:
        # Bound the archive (inflating each member in chunks, so lying sizes fail their CRC),
        # then refuse what would make calamine abort the whole process.
        open_zip(data, keep=lambda name: False)
        check_calamine_safe(data)
    except Rejected as exc:
        raise TableError(str(exc)) from None
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = [s for s in wb.sheets_metadata if str(s.visible).lower().endswith("visible")]
        name = (visible or wb.sheets_metadata)[0].name
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise TableError(_("无法读取 Excel 文件：%(reason)s", reason=str(exc)[:200])) from None


def _csv_rows(data: bytes):
    import csv

    text = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise TableError(_("CSV 格式有误：%(reason)s", reason=str(exc))) from None


def parse_date(text: str) -> dt.date | None:
    """Parse 2024-03-01, 2024/3/1, 2024.3.1 or 2024年3月1日; None when not a date."""
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?", text.strip())
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
