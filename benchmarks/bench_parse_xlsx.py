"""Time parse() on a 10,000-question xlsx: median of 5 runs and peak memory.

Memory is given twice: the Python heap peak (tracemalloc, which cannot see calamine's native
allocations) and the extra peak RSS of a child process that parses, over one that only loads.

Two files are measured: the one export() writes (openpyxl stores every string inline in the
sheet, the slowest layout to read) and the same workbook rewritten to use a shared-strings
table, which is how Excel and WPS save files.

Run: .venv/bin/python benchmarks/bench_parse_xlsx.py [N_QUESTIONS]
"""

from __future__ import annotations

import io
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile

from trainapp.questionbank.formats import ParsedQuestion, export, parse

_INLINE = re.compile(rb'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', re.DOTALL)


def build_questions(n: int) -> list[ParsedQuestion]:
    questions = []
    for i in range(n):
        kind = ("single", "multiple", "truefalse")[i % 3]
        options = [] if kind == "truefalse" else [f"第{i}题选项{ch}：涉及动火作业审批与现场监护要求" for ch in "ABCD"]
        answer = {"single": "B", "multiple": "ACD", "truefalse": "T"}[kind]
        questions.append(ParsedQuestion(
            qtype=kind, stem=f"第 {i} 题：依据《中华人民共和国安全生产法》，生产经营单位应当如何落实全员安全生产责任制？",
            options=options, answer=answer, explanation="依据安全生产法第二十二条的规定。" * 2,
            source="《中华人民共和国安全生产法》", difficulty=i % 3 + 1, tags=["安全生产法", "责任制"]))
    return questions


def with_shared_strings(data: bytes) -> bytes:
    """Rewrite inline strings into xl/sharedStrings.xml, as Excel would store them."""
    source = zipfile.ZipFile(io.BytesIO(data))
    strings: dict[bytes, int] = {}

    def swap(match: re.Match) -> bytes:
        index = strings.setdefault(match.group(3), len(strings))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2) or b"", index)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                part = _INLINE.sub(swap, part)
            elif info.filename == "[Content_Types].xml":
                part = part.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                part = part.replace(b"</Relationships>", b'<Relationship Id="rIdSST" Target="sharedStrings.xml" '
                                    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings"/></Relationships>')
            target.writestr(info.filename, part)
        items = b"".join(b"<si><t xml:space=\"preserve\">%s</t></si>" % s for s in strings)
        target.writestr("xl/sharedStrings.xml", b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                        b'openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
                        % (len(strings), len(strings), items))
    return out.getvalue()


def _child_peak_rss(path: str, run_parse: bool) -> int:
    """Peak RSS (KB) of a fresh process that imports the parser, reads the file and maybe parses it."""
    # VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork/exec.
    code = ("import re, sys; from trainapp.questionbank.formats import parse; "
            "data = open(sys.argv[1], 'rb').read(); "
            + ("parse(data, 'bank.xlsx'); " if run_parse else "")
            + r"print(re.search(r'VmHWM:\s+(\d+)', open('/proc/self/status').read()).group(1))")
    return int(subprocess.run([sys.executable, "-c", code, path], capture_output=True, check=True).stdout)


def measure(label: str, data: bytes, n: int) -> list[tuple[str, str]]:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = parse(data, "bank.xlsx")
        times.append(time.perf_counter() - start)
        assert result.ok and len(result.questions) == n, result.problems[:5]
    tracemalloc.start()
    parse(data, "bank.xlsx")
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        handle.write(data)
        handle.flush()
        rss = _child_peak_rss(handle.name, True) - _child_peak_rss(handle.name, False)
    return [(label, f"{len(data) / 1024 / 1024:.2f} MB", f"{statistics.median(times):.3f} s",
             f"{min(times):.3f} / {max(times):.3f} s", f"{peak / 1024 / 1024:.1f} MB", f"{rss / 1024:.0f} MB")]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    inline = export(build_questions(n), "xlsx")
    shared = with_shared_strings(inline)
    rows = [("file", "size", "parse median of 5", "min / max", "peak Python heap (tracemalloc)",
             "extra peak RSS, incl. calamine")]
    rows += measure(f"{n:,} questions, inline strings (export())", inline, n)
    rows += measure(f"{n:,} questions, shared strings (Excel-style)", shared, n)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)))
        if index == 0:
            print("-|-".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
