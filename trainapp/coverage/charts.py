"""Charts drawn on the server as SVG: no script, no web font, the same markup on the page and in the PDF.

Labels are escaped here, so the result can be placed in a template with `|safe`.
"""
from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = {"met": "#198754", "behind": "#e0a800", "overdue": "#dc3545", "no_target": "#0d6efd", "no_data": "#adb5bd"}
FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"


def _text(x, y, text, size=11, anchor="start", fill="#212529") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-family="{FONT}">{escape(text)}</text>')


def bars(rows: list[tuple[str, float | None, float | None, str]], title: str, no_data: str,
         width: int = 640) -> Markup:
    """Horizontal bars: (label, percent or None, target percent or None, status) per row; target as a tick."""
    label_w, bar_h, gap, top = 230, 16, 8, 26
    plot_w = width - label_w - 60
    height = top + len(rows) * (bar_h + gap) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             _text(0, 14, title, 13)]
    for i, (label, pct, target, status) in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts.append(_text(label_w - 6, y + bar_h - 4, label, 11, "end"))
        parts.append(f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#f1f3f5"/>')
        if pct is None:
            parts.append(_text(label_w + 4, y + bar_h - 4, no_data, 10, fill="#6c757d"))
        else:
            w = plot_w * max(0.0, min(pct, 100.0)) / 100.0
            parts.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{COLOURS.get(status, "#0d6efd")}"/>')
            parts.append(_text(label_w + plot_w + 4, y + bar_h - 4, f"{pct:.1f}%", 10))
        if target is not None:
            x = label_w + plot_w * target / 100.0
            parts.append(f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + bar_h + 2}" stroke="#212529" '
                         f'stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line(points: list[tuple[str, float | None]], title: str, target: float | None = None,
         width: int = 640, height: int = 220) -> Markup:
    """A line over months (label, percent or None); gaps where there is no data; optional target line."""
    left, right, top, bottom = 40, 10, 26, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(points) - 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">', _text(0, 14, title, 13)]
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#dee2e6"/>')
        parts.append(_text(left - 4, y + 4, f"{pct}%", 10, "end", "#6c757d"))
    if target is not None:
        y = top + plot_h * (1 - target / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#dc3545" '
                     f'stroke-dasharray="4 3"/>')
    segment: list[str] = []
    for i, (label, pct) in enumerate(points):
        x = left + plot_w * i / n
        parts.append(_text(x, height - 10, label[-2:], 10, "middle", "#6c757d"))
        if pct is None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="#0d6efd" stroke-width="2" points="{" ".join(segment)}"/>')
            segment = []
            continue
        y = top + plot_h * (1 - pct / 100)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0d6efd"/>')
    if len(segment) > 1:
        parts.append(f'<polyline fill="none" stroke="#0d6efd" stroke-width="2" points="{" ".join(segment)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
