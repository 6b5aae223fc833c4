"""Lesson text: Markdown (or HTML pasted from elsewhere) to HTML that is safe to show.

Whatever the author writes, the stored HTML passes through nh3 (Ammonia) with a short allow-list:
no scripts, no event handlers, no styles, links only to http(s) and mailto, images not at all.
"""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
ALLOWED_TAGS = {"p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "u", "ul", "ol", "li", "blockquote",
                "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "a", "span", "sub", "sup"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}


def render(markdown_text: str) -> str:
    html = _md.render(markdown_text or "")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")
