"""Student notebooks as safe HTML for the instructor's pages: every notebook is hostile.

Markdown is rendered (mistune, as Jupyter does) and then sanitised with nh3 (an allow-list of
tags and attributes: no script, style, iframe, form or event handler; links only http(s), mailto
and in-page; images only as ``data:image/...;base64`` URIs). HTML outputs go through the same
sanitiser; text, streams and tracebacks are escaped by the templates; images are rebuilt from
their validated base64; JavaScript and widget outputs are never shown. The pages also carry a
Content-Security-Policy that forbids inline script, so a sanitiser miss still runs nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

import mistune
import nh3
from markupsafe import Markup

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
        "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
        "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "u", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
              "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"},
              "ol": {"start"}}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")
SAFE_LINK = re.compile(r"^(https?://|mailto:|#)", re.I)
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MAX_TEXT = 20_000  # characters of one output shown; the rest is cut
MAX_IMAGE = 2_000_000  # base64 characters of one image
NOT_SHOWN = ("application/javascript", "text/javascript", "application/vnd.jupyter.widget-view+json")

_markdown = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])


@dataclass
class Output:
    kind: str  # "text", "html", "image", "error", "note"
    text: str = ""
    html: Markup = Markup("")


@dataclass
class Cell:
    """One cell for a template: ``source`` is escaped there; ``html`` is already sanitised."""

    number: int  # 1-based, as Jupyter counts
    kind: str  # markdown | code | raw
    source: str
    html: Markup = Markup("")
    outputs: list[Output] = field(default_factory=list)


def sanitise(html: str) -> Markup:
    """HTML from a notebook made safe to show: only allow-listed tags and attributes."""
    return Markup(nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES,
                            url_schemes={"http", "https", "mailto", "data"},
                            attribute_filter=_attribute_filter, link_rel="noopener noreferrer nofollow",
                            strip_comments=True))


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if DATA_IMAGE.match(value) and len(value) <= MAX_IMAGE else None
    if tag == "a" and attribute == "href":
        return value if SAFE_LINK.match(value.strip()) else None
    return value


def markdown_html(source: str, attachments: dict | None = None) -> Markup:
    """A markdown cell (with its attached images) as sanitised HTML."""
    for name, bundle in (attachments or {}).items():
        kind = next((k for k in IMAGE_TYPES if isinstance(bundle.get(k), str)), None)
        if kind:
            source = source.replace(f"attachment:{name}",
                                    f"data:{kind};base64,{''.join(bundle[kind].split())}")
    return sanitise(_markdown(source))


def render_cells(cells: list[dict], numbers: list[int] | None = None) -> list[Cell]:
    """The notebook's cells (``numbers``: their 1-based positions) ready for a template."""
    numbers = numbers or list(range(1, len(cells) + 1))
    return [render_cell(cell, number) for cell, number in zip(cells, numbers)]


def render_cell(cell: dict, number: int) -> Cell:
    kind = str(cell.get("cell_type", "raw"))
    source = _text(cell.get("source", ""))
    if kind == "markdown":
        return Cell(number, kind, source, markdown_html(source, cell.get("attachments")))
    if kind == "code":
        return Cell(number, kind, source, outputs=[o for out in cell.get("outputs") or []
                                                   if (o := render_output(out)) is not None])
    return Cell(number, "raw", source)


def render_output(output: dict) -> Output | None:
    kind = output.get("output_type")
    if kind == "stream":
        return Output("text", _cut(ANSI.sub("", _text(output.get("text", "")))))
    if kind == "error":
        trace = "\n".join(_text(line) for line in output.get("traceback") or [])
        return Output("error", _cut(ANSI.sub("", trace) or
                                    f"{output.get('ename', '')}: {output.get('evalue', '')}"))
    if kind not in ("execute_result", "display_data"):
        return None
    data = output.get("data") or {}
    for mime in (*IMAGE_TYPES, "image/svg+xml"):
        if mime in data and (image := _image(mime, data[mime])):
            return Output("image", html=image)
    if "text/html" in data:
        return Output("html", html=sanitise(_cut(_text(data["text/html"]))))
    if "text/markdown" in data:
        return Output("html", html=markdown_html(_cut(_text(data["text/markdown"]))))
    if "text/plain" in data:
        return Output("text", _cut(ANSI.sub("", _text(data["text/plain"]))))
    hidden = [m for m in data if m in NOT_SHOWN or "javascript" in m]
    return Output("note", f"output not shown ({', '.join(hidden) or 'no displayable type'})")


def _image(mime: str, value) -> Markup | None:
    if mime == "image/svg+xml":  # an <img> never runs an SVG's scripts
        raw = _text(value).encode("utf-8")
        encoded = base64.b64encode(raw).decode("ascii")
    else:
        encoded = "".join(_text(value).split())
        try:
            base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
    if len(encoded) > MAX_IMAGE:
        return None
    return Markup('<img alt="output image" src="data:{};base64,{}">').format(mime, encoded)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT} more characters)"


# --------------------------------------------------------------------------- answer regions

BEGIN_QUESTION = "<!-- BEGIN QUESTION -->"
END_QUESTION = "<!-- END QUESTION -->"


def answer_region(cells: list[dict], index: int) -> tuple[list[int], bool]:
    """The 1-based numbers of the cells answering the ``index``-th manual question (otter marks
    each manual question of a released notebook with BEGIN/END QUESTION comments), and whether
    the region was found; when a student removed the markers, every cell (False)."""
    begins = [n for n, cell in enumerate(cells) if cell.get("cell_type") == "markdown"
              and _text(cell.get("source", "")).lstrip().startswith(BEGIN_QUESTION)]
    if index >= len(begins):
        return list(range(1, len(cells) + 1)), False
    start = begins[index]
    numbers = []
    for n in range(start + 1, len(cells)):
        source = _text(cells[n].get("source", ""))
        if END_QUESTION in source or source.lstrip().startswith(BEGIN_QUESTION):
            break
        numbers.append(n + 1)
    return numbers, True
