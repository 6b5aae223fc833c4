"""xlsx banks: fast reading with python-calamine behind structural checks; writing with openpyxl.

calamine is a native reader that aborts the whole process (it cannot raise) when a sheet
declares an absurd size, so each sheet's real extent and the shared-string count are
measured from the XML before calamine sees the workbook.
"""

from __future__ import annotations

import io
import posixpath
import re

import python_calamine
from defusedxml.ElementTree import iterparse
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .common import FILE_REF, Collector, ParsedQuestion, ParseResult, export_text, file_problem
from .safety import Rejected, open_zip, parse_xml
from .tabular import EXAMPLE_ROWS, EXPORT_HEADERS, convert_rows, find_header, missing_header_message, question_rows
from .tabular import warn_unknown_columns

MAX_CELLS = 3_000_000
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_FAST_REF = re.compile(rb'<c(?=[\s/>])(?:\s+r="([A-Z]{1,3})(\d{1,7})")?')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_POSITION_TAG = re.compile(rb'<(?:\w+:)?(row|c)(?=[\s/>])([^>]*)>')
_R_ATTR = re.compile(rb'\br="([A-Za-z]{0,3})(\d{1,7})"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s/>]")
_UNIQUE_COUNT = re.compile(rb'uniqueCount="(\d+)"')


def _col_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        n = n * 26 + ord(ch) - 64
    return n


def cell_name(row: int, col: int) -> str:
    return f"{get_column_letter(col + 1)}{row + 1}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _extent(xml: bytes) -> tuple[int, int]:
    """(rows, columns) calamine would allocate for this sheet, measured without parsing."""
    if not _PREFIXED.search(xml):  # the usual layout, <c r="B7" …>: one regex pass
        refs = _FAST_REF.findall(xml)
        if all(col for col, _row in refs):
            if not refs:
                return 0, 0
            cols = max(_col_number(c) for c in {c for c, _r in refs})
            rows = max(int(r) for r in {r for _c, r in refs})
            return rows, cols
    # Some cells carry no reference and take the next free position: walk them in order.
    row = col = max_row = max_col = 0
    for tag, attrs in _POSITION_TAG.findall(xml):
        ref = _R_ATTR.search(attrs)
        if tag == b"row":
            row = int(ref.group(2)) if ref else row + 1
            col = 0
        else:
            if ref and ref.group(1):
                row, col = int(ref.group(2)), _col_number(ref.group(1))
            else:
                col += 1
        max_row, max_col = max(max_row, row), max(max_col, col)
    return max_row, max_col


def _formula_cells(xml: bytes) -> tuple[set[tuple[int, int]], list[str]]:
    """Cells holding a formula without a cached value, and names of those with one."""
    missing: set[tuple[int, int]] = set()
    cached: list[str] = []
    for _event, elem in iterparse(io.BytesIO(xml), forbid_dtd=True, forbid_entities=True):
        if _local(elem.tag) == "c":
            children = {_local(child.tag): child for child in elem}
            ref = re.match(r"([A-Za-z]{1,3})(\d+)$", elem.get("r", ""))
            if "f" in children and ref:
                position = (int(ref.group(2)) - 1, _col_number(ref.group(1)) - 1)
                value = children.get("v")
                if value is None or not (value.text or "").strip():
                    missing.add(position)
                elif len(cached) < 3:
                    cached.append(cell_name(*position))
        elif _local(elem.tag) == "row":
            elem.clear()
    return missing, cached


def _workbook_parts(kept: dict[str, bytes]) -> dict[str, str]:
    """Sheet name → worksheet part path, from workbook.xml and its relationships."""
    if "xl/workbook.xml" not in kept:
        raise Rejected(_("Excel 文件结构不完整（缺少 workbook.xml），请用 Excel 重新保存"))
    targets = {}
    rels = kept.get("xl/_rels/workbook.xml.rels")
    if rels:
        for rel in parse_xml(rels):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            targets[rel.get("Id")] = path
    parts = {}
    for sheet in parse_xml(kept["xl/workbook.xml"]).iter():
        if _local(sheet.tag) == "sheet":
            rid = sheet.get(f"{{{_REL_NS}}}id") or sheet.get("id")
            parts[sheet.get("name", "")] = targets.get(rid, "")
    return parts


def _check_native_limits(kept: dict[str, bytes], parts: dict[str, str] | None = None) -> None:
    """Refuse parts that would make calamine allocate without bound.

    Every XML part is measured, not just the ones workbook.xml names: calamine follows the
    relationships itself, and any part could be the one it reads as a sheet.
    """
    sheet_names = {path: sheet for sheet, path in (parts or {}).items()}
    for name, xml in kept.items():
        declared = _UNIQUE_COUNT.search(xml[:4096])
        if declared and int(declared.group(1)) > len(xml) // 8 + 16:
            raise Rejected(_("Excel 文件的共享字符串表声明的数量与内容不符，文件可能已损坏或被篡改"))
        rows, cols = _extent(xml)
        if rows * cols > MAX_CELLS:
            raise Rejected(_("工作表「%(name)s」的数据范围过大（%(rows)d 行 × %(cols)d 列），请删除多余的行列后再上传",
                             name=sheet_names.get(name, name), rows=rows, cols=cols))


def check_calamine_safe(data: bytes) -> None:
    """Raise Rejected unless python-calamine can open ``data`` without aborting the process.

    For any caller that hands uploaded xlsx bytes to calamine: it bounds the zip (bombs, lying
    sizes), sheet extents and the shared-string count.
    """
    _archive, kept = open_zip(data, _keep)
    _check_native_limits(kept)


def _keep(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


class _Sheet:
    def __init__(self, name: str, rows: list[list], merged, missing_formula: set, cached_formula: list[str]):
        self.name, self.rows, self.merged = name, rows, merged or []
        self.missing_formula, self.cached_formula = missing_formula, cached_formula
        self.header = find_header(rows)


def _load_sheet(book, name: str, xml: bytes) -> _Sheet:
    has_formula = (b"<f" in xml or b":f" in xml) and _FORMULA.search(xml)
    missing, cached = _formula_cells(xml) if has_formula else (set(), [])
    sheet = book.get_sheet_by_name(name)
    return _Sheet(name, sheet.to_python(skip_empty_area=False), sheet.merged_cell_ranges, missing, cached)


def parse_xlsx(data: bytes) -> ParseResult:
    """Parse every visible sheet that has a recognisable header."""
    out = Collector()
    try:
        _archive, kept = open_zip(data, _keep)
        parts = _workbook_parts(kept)
        _check_native_limits(kept, parts)
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible, hidden = [], []
        for meta in book.sheets_metadata:
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue
            is_visible = meta.visible == python_calamine.SheetVisibleEnum.Visible
            (visible if is_visible else hidden).append(meta.name)
        sheets = [_load_sheet(book, name, kept.get(parts.get(name, ""), b"")) for name in visible]
        data_sheets = [s for s in sheets if s.header]
        if not data_sheets:
            hidden_banks = [n for n in hidden if _load_sheet(book, n, kept.get(parts.get(n, ""), b"")).header]
            if hidden_banks:
                out.problem(FILE_REF, _("题库在隐藏的工作表「%(name)s」中：请在 Excel 中取消隐藏，或把题目移到第一个可见的工作表",
                                        name=hidden_banks[0]))
            else:
                first = sheets[0].rows if sheets else []
                out.problem(FILE_REF, missing_header_message(first) if sheets else _("工作簿中没有可见的工作表"))
            return out.result()
    except Rejected as exc:
        return file_problem(str(exc))
    except (python_calamine.CalamineError, KeyError, ValueError, OSError, MemoryError, RecursionError):
        return file_problem(_("Excel 文件已损坏或格式不受支持，请用 Excel 重新保存为 .xlsx 后再上传"))
    if hidden:
        out.warn(FILE_REF, _("已忽略隐藏的工作表：%(names)s", names="、".join(hidden[:10])))
    for sheet in sheets:
        if not sheet.header and any(any(c not in ("", None) for c in row) for row in sheet.rows):
            out.warn(FILE_REF, _("工作表「%(name)s」没有识别到表头，已跳过", name=sheet.name))
    for sheet in data_sheets:
        _convert_sheet(sheet, out, prefix=len(data_sheets) > 1)
    return out.result()


def _convert_sheet(sheet: _Sheet, out: Collector, prefix: bool) -> None:
    template = _("第 %(row)d 行")  # translated once, filled per row (10,000 gettext calls add up)
    if prefix:
        template = _("工作表「%(name)s」%(row)s", name=sheet.name.replace("%", "%%"), row=template)

    def ref(index: int) -> str:
        return template % {"row": index + 1}

    header = sheet.header
    warn_unknown_columns(header, out, ref(header.index))
    covered: dict[int, str | None] = {}
    for (r0, c0), (r1, c1) in sheet.merged:
        if r1 < header.index:
            continue  # a merged title above the header is harmless
        span = f"{cell_name(r0, c0)}:{cell_name(r1, c1)}"
        for r in range(max(r0, header.index), min(r1, len(sheet.rows) - 1) + 1):
            covered.setdefault(r, None)
        covered[max(r0, header.index)] = span
    if sheet.cached_formula:
        out.warn(ref(header.index), _("含公式的单元格（如 %(cells)s）已按保存的计算结果导入", cells="、".join(sheet.cached_formula)))

    def check_row(index: int, columns: list[int]) -> list[str] | None:
        if index in covered:
            span = covered[index]
            return [_("合并单元格 %(range)s 位于题目区域，请取消合并、每行填写完整后再导入", range=span)] if span else []
        bad = [cell_name(index, c) for c in columns if (index, c) in sheet.missing_formula]
        if bad:
            return [_("单元格 %(cell)s 是公式，但文件中没有保存计算结果：请在 Excel 中打开并保存，或把公式改为数值",
                      cell=name) for name in bad]
        return None

    if header.index in covered:
        out.problem(ref(header.index), _("合并单元格 %(range)s 位于表头，请取消合并后再导入", range=covered[header.index] or ""))
    convert_rows(sheet.rows, header, out, ref, check_row if covered or sheet.missing_formula else None)


# --- writing ----------------------------------------------------------------------


def _write(headers: list[str], rows: list[list[str]], answer_note: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "题库"
    sheet.append(headers)
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            if value:
                cell = sheet.cell(r, c, export_text(value))
                cell.data_type = "s"  # text beginning with "=" must stay text, never a formula
                cell.alignment = wrap
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    widths = {"题干": 50, "解析": 40, "出处": 24, "标签": 16}
    for col, name in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = widths.get(name, 14 if name.startswith("选项") else 8)
    sheet.freeze_panes = "A2"
    if answer_note:
        sheet.cell(1, headers.index("答案") + 1).comment = Comment(
            "单选填一个字母，如 B；多选填多个字母，如 ACD；判断填“正确”或“错误”。\n"
            "题型：单选题 / 多选题 / 判断题；难度：易 / 中 / 难；标签用顿号或逗号分隔。", "trainapp")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_xlsx(questions: list[ParsedQuestion]) -> bytes:
    return _write(*question_rows(questions))


def template_xlsx() -> bytes:
    return _write(EXPORT_HEADERS, EXAMPLE_ROWS, answer_note=True)
