"""The self-contained ``report.html``: every table and figure of a study in one file.

Figures are inlined as ``data:`` URIs (PNG, or SVG), CSS is inlined, nothing is fetched from
the network, and every piece of text is HTML-escaped (Jinja2 autoescaping). The page has a
contents list with anchors, the sample description, the sections with their tables and figures,
the validation warnings, the manifest, and a visible banner when the data are simulated.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from didstudy.errors import DidstudyError
from didstudy.report.atomic import atomic_write_text
from didstudy.report.labels import normalize_lang, text
from didstudy.report.tables._common import safe_name
from didstudy.report.tables.model import Table
from didstudy.report.tables.to_html import TABLE_CSS, table_to_html

__all__ = [
    "ReportFigure",
    "ReportSection",
    "build_html_report",
    "render_html_report",
]

FigureFormat = Literal["png", "svg"]
REPORT_DPI = 150.0


@dataclass(frozen=True)
class ReportFigure:
    """A figure of the report.

    Attributes
    ----------
    figure
        A matplotlib ``Figure``, PNG or SVG bytes, SVG text, or a path to a .png/.svg file.
    caption
        Printed under the figure and used as its ``alt`` text.
    name
        Anchor key (default from the caption).
    notes
        Lines printed under the caption.
    format
        How a matplotlib figure is embedded: ``"png"`` (default) or ``"svg"``.
    """

    figure: Any
    caption: str = ""
    name: str | None = None
    notes: tuple[str, ...] = ()
    format: FigureFormat = "png"


@dataclass(frozen=True)
class ReportSection:
    """A section: a title, optional introductory paragraphs, and items in print order.

    ``items`` holds :class:`~didstudy.report.tables.model.Table`, :class:`ReportFigure`,
    matplotlib figures and strings (paragraphs).
    """

    title: str
    items: tuple[Any, ...] = ()
    intro: tuple[str, ...] = ()
    name: str | None = None


def _section(value: Any) -> ReportSection:
    if isinstance(value, ReportSection):
        return value
    if isinstance(value, Mapping):
        intro = value.get("intro", ())
        return ReportSection(
            title=str(value.get("title", "")),
            items=tuple(value.get("items", ())),
            intro=(intro,) if isinstance(intro, str) else tuple(intro),
            name=value.get("name"),
        )
    raise DidstudyError(
        f"a report section is a {type(value).__name__}",
        fix="pass ReportSection(title=..., items=[...]) or a dict with 'title' and 'items'",
    )


def _sniff(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        return "image/svg+xml"
    raise DidstudyError(
        "a report figure is neither PNG nor SVG",
        fix="pass a matplotlib figure, PNG/SVG bytes or a .png/.svg file",
    )


def _figure_src(figure: Any, fmt: FigureFormat) -> tuple[str, int | None]:
    """A data URI and the display width in CSS pixels (PNG at REPORT_DPI shown at 96 dpi)."""
    width: int | None = None
    if hasattr(figure, "savefig"):
        from didstudy.report.figures.save import figure_bytes

        data = figure_bytes(figure, fmt, dpi=REPORT_DPI)
        if fmt == "png":
            width = round(float(figure.get_size_inches()[0]) * 96)
    elif isinstance(figure, bytes):
        data = figure
    elif isinstance(figure, str) and figure.lstrip().startswith("<"):
        data = figure.encode("utf-8")
    elif isinstance(figure, str | os.PathLike):
        path = Path(figure)
        if not path.is_file():
            raise DidstudyError(f"figure file {str(path)!r} does not exist", file=str(path))
        data = path.read_bytes()
    else:
        raise DidstudyError(
            f"cannot embed a {type(figure).__name__} as a figure",
            fix="pass a matplotlib figure, PNG/SVG bytes or a .png/.svg file",
        )
    mime = _sniff(data)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", width


class _Anchors:
    def __init__(self) -> None:
        self.used: set[str] = {"contents", "contents-title", "sample", "warnings", "manifest"}

    def make(self, preferred: str | None, fallback: str) -> str:
        base = safe_name(preferred) if preferred else ""
        if not base or base == "table":
            base = fallback
        anchor, k = base, 2
        while anchor in self.used:
            anchor = f"{base}-{k}"
            k += 1
        self.used.add(anchor)
        return anchor


def _period_text(periods: Any) -> str:
    if isinstance(periods, str):
        return periods
    values = list(periods) if isinstance(periods, Iterable) else [periods]
    if not values:
        return ""
    if len(values) <= 2:
        return "–".join(str(v) for v in values)
    return f"{values[0]}–{values[-1]} ({len(values)})"


_SAMPLE_KEYS = {
    "units": "sample_units",
    "periods": "sample_periods",
    "observations": "sample_observations",
    "nobs": "sample_observations",
    "treated": "sample_treated",
    "n_treated": "sample_treated",
    "never_treated": "sample_never",
    "n_never_treated": "sample_never",
    "n_units": "sample_units",
}


def _pairs(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    out = []
    for entry in value:
        if isinstance(entry, Mapping):
            unit = entry.get("unit", entry.get("name", ""))
            reason = entry.get("reason", entry.get("why", ""))
            out.append((str(unit), str(reason)))
        else:
            first, second = entry
            out.append((str(first), str(second)))
    return out


def _sample(sample: Mapping[str, Any] | None, lang: str) -> dict[str, Any] | None:
    if not sample:
        return None
    facts: list[tuple[str, str]] = []
    for key, value in sample.items():
        if key in ("cohorts", "treated_cohorts", "dropped"):
            continue
        label = text(_SAMPLE_KEYS[key], lang) if key in _SAMPLE_KEYS else str(key)
        facts.append((label, _period_text(value) if key == "periods" else str(value)))
    cohorts = _pairs(sample.get("cohorts", sample.get("treated_cohorts")))
    return {"facts": facts, "cohorts": cohorts, "dropped": _pairs(sample.get("dropped"))}


def _manifest_facts(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(k), str(v))
        for k, v in manifest.items()
        if isinstance(v, str | int | float | bool) or v is None
    ]


def _css() -> str:
    css = resources.files("didstudy.report").joinpath("templates/report.css").read_text("utf-8")
    return TABLE_CSS + "\n" + css


def _template() -> Any:
    try:
        import jinja2
    except ImportError as exc:  # jinja2 is a core dependency; this guards broken installs
        from didstudy.errors import MissingDependencyError

        raise MissingDependencyError("jinja2", "all", "Writing report.html") from exc
    source = (
        resources.files("didstudy.report").joinpath("templates/report.html.j2").read_text("utf-8")
    )
    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.from_string(source)


def render_html_report(
    sections: Sequence[ReportSection | Mapping[str, Any]],
    meta: Mapping[str, Any] | None = None,
) -> str:
    """The HTML text of the report; see :func:`build_html_report` for the arguments."""
    from markupsafe import Markup

    meta = dict(meta or {})
    lang = normalize_lang(str(meta.get("lang", "en")))
    labels = {
        key: text(key, lang)
        for key in (
            "contents",
            "sample",
            "sample_cohorts",
            "sample_dropped",
            "cohort_col",
            "units_col",
            "unit_col",
            "reason_col",
            "warnings",
            "no_warnings",
            "manifest",
            "manifest_hint",
            "generated",
        )
    }
    anchors = _Anchors()
    sample = _sample(meta.get("sample"), lang)
    toc: list[dict[str, Any]] = []
    if sample:
        toc.append({"anchor": "sample", "title": labels["sample"], "children": []})
    rendered_sections = []
    counter = [0]  # figures numbered across sections
    for index, raw in enumerate(sections):
        entry, toc_entry = _render_section(_section(raw), index, anchors, counter, lang)
        rendered_sections.append(entry)
        toc.append(toc_entry)
    warnings_list = [str(w) for w in meta.get("warnings", ()) or ()]
    toc.append({"anchor": "warnings", "title": labels["warnings"], "children": []})
    manifest = meta.get("manifest")
    if manifest is not None:
        toc.append({"anchor": "manifest", "title": labels["manifest"], "children": []})
    simulated = bool(meta.get("simulated", False))
    simulated_text = text("simulated_banner", lang)
    if meta.get("simulated_note"):
        simulated_text += " " + str(meta["simulated_note"])
    from didstudy import __version__

    return str(
        _template().render(
            lang="zh-CN" if lang == "zh" else "en",
            version=__version__,
            title=str(meta.get("title") or text("report_title", lang)),
            subtitle=str(meta.get("subtitle") or ""),
            generated=str(meta.get("generated") or ""),
            css=Markup(_css()),
            simulated=simulated,
            simulated_text=simulated_text,
            labels=labels,
            toc=toc,
            sample=sample,
            sections=rendered_sections,
            warnings=warnings_list,
            manifest=manifest,
            manifest_facts=_manifest_facts(manifest) if isinstance(manifest, Mapping) else [],
            manifest_json=json.dumps(
                manifest, indent=2, ensure_ascii=False, sort_keys=False, default=str
            ),
        )
    )


def _render_section(
    section: ReportSection, index: int, anchors: _Anchors, counter: list[int], lang: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A section's template entry and its table-of-contents entry."""
    anchor = anchors.make(section.name or section.title, f"section-{index + 1}")
    items: list[dict[str, Any]] = []
    children: list[dict[str, str]] = []
    for item in section.items:
        entry = _render_item(section, item, anchors, counter, lang)
        items.append(entry)
        if entry["kind"] != "text":
            children.append({"anchor": entry["anchor"], "title": entry["title"]})
    if len(children) == 1 and children[0]["title"] == section.title:
        children = []  # a section that is one table or figure: list it once
    return (
        {"anchor": anchor, "title": section.title, "intro": section.intro, "entries": items},
        {"anchor": anchor, "title": section.title, "children": children},
    )


def _render_item(
    section: ReportSection, item: Any, anchors: _Anchors, counter: list[int], lang: str
) -> dict[str, Any]:
    """The template entry of one table, figure or paragraph."""
    from markupsafe import Markup

    if isinstance(item, Table):
        item_anchor = anchors.make(f"table-{item.name}", f"table-{len(anchors.used)}")
        html = table_to_html(item, table_id=f"{item_anchor}-table")
        return {"kind": "table", "anchor": item_anchor, "html": Markup(html), "title": item.title}
    if isinstance(item, ReportFigure) or hasattr(item, "savefig"):
        figure = item if isinstance(item, ReportFigure) else ReportFigure(item)
        counter[0] += 1
        caption = figure.caption or text("figure_caption", lang, number=counter[0])
        item_anchor = anchors.make(
            f"figure-{figure.name}" if figure.name else None, f"figure-{counter[0]}"
        )
        src, width = _figure_src(figure.figure, figure.format)
        return {
            "kind": "figure",
            "anchor": item_anchor,
            "src": src,
            "width": width,
            "caption": caption,
            "notes": list(figure.notes),
            "title": caption,
        }
    if isinstance(item, str):
        return {"kind": "text", "text": item}
    raise DidstudyError(
        f"section {section.title!r} holds a {type(item).__name__}",
        fix="items are Tables, ReportFigures, matplotlib figures or strings",
    )


def build_html_report(
    sections: Sequence[ReportSection | Mapping[str, Any]],
    meta: Mapping[str, Any] | None,
    out_path: str | os.PathLike[str],
) -> Path:
    """Write the self-contained ``report.html`` atomically and return its path.

    Parameters
    ----------
    sections
        :class:`ReportSection` objects (or dicts with ``title``, ``items``, optional ``intro``
        and ``name``) in print order. Items: tables, figures, paragraphs.
    meta
        ``title``, ``subtitle``, ``generated`` (a timestamp string; not computed here, so the
        same inputs give the same file), ``lang`` (``"zh"``/``"en"``), ``simulated`` (bool:
        show the banner) and ``simulated_note``, ``warnings`` (list of strings), ``manifest``
        (JSON-serialisable dict, printed in full), and ``sample``: a mapping with ``units``,
        ``periods`` (``[first, last]`` or all periods), ``observations``, ``treated``,
        ``never_treated``, ``cohorts`` (``{cohort: n_units}``), ``dropped`` (``{unit: reason}``
        or a list of ``{"unit", "reason"}``); other keys are listed as they are.
    out_path
        Destination file.
    """
    return atomic_write_text(out_path, render_html_report(sections, meta))
