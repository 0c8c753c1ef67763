"""Render Jinja templates from ``reports/templates/`` to HTML (the source of truth) and PDF.

Autoescaping is on for every template; PDFs come from the HTML through WeasyPrint (A4, page
numbers and page breaks are in the CSS of ``base.html``); fonts are the system's, embedded by
WeasyPrint (install ``fonts-lohit-deva`` for Devanagari names: ``make setup`` does as root).
"""

from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from dlkit.experiments import ROOT

TEMPLATES = ROOT / "reports" / "templates"


@lru_cache(maxsize=4)
def environment(folder: Path = TEMPLATES) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def render_html(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write via a temporary file in the same folder and rename: no half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def html_to_pdf(html: str, base_url: Path = TEMPLATES) -> bytes:
    """A4 PDF bytes from HTML (fonts embedded)."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from weasyprint import HTML

    # fontTools stamps the current time into embedded fonts unless SOURCE_DATE_EPOCH is set:
    # fix it, so the same inputs give the same PDF bytes.
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1704067200")
    return HTML(string=html, base_url=str(base_url)).write_pdf()


def render(template: str, context: dict[str, Any], out: Path, pdf: bool = True) -> list[Path]:
    """Render ``template`` to ``out`` (.html) and, with ``pdf``, to ``out`` with .pdf."""
    html = render_html(template, context)
    written = [write_atomic(out.with_suffix(".html"), html)]
    if pdf:
        written.append(write_atomic(out.with_suffix(".pdf"), html_to_pdf(html)))
    return written
