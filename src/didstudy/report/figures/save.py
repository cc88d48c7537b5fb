"""Save a matplotlib figure in several formats, atomically and reproducibly."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from didstudy.errors import DidstudyError
from didstudy.report.atomic import atomic_write_bytes
from didstudy.report.figures._style import LANG_ATTRIBUTE, figure_style

__all__ = ["FIGURE_FORMATS", "LANG_ATTRIBUTE", "figure_bytes", "save_figure"]

FIGURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

# Metadata that would make two runs differ byte for byte (dates, software versions).
_STABLE_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


# Save-time settings: text as paths in SVG (no font needed by the viewer), fixed element ids.
_SAVE_RC: dict[str, Any] = {"svg.fonttype": "path", "svg.hashsalt": "didstudy", "pdf.fonttype": 42}
DEFAULT_DPI = 200.0


def figure_bytes(
    fig: Any, fmt: str = "png", dpi: float | None = None, lang: str | None = None
) -> bytes:
    """Render ``fig`` (a :class:`matplotlib.figure.Figure`) to bytes in format ``fmt``.

    Fonts are looked up when a figure is drawn, so Chinese text needs the CJK font at save time
    too: the figure is drawn inside :func:`~didstudy.report.figures._style.figure_style` of
    ``lang``, or of the language recorded on the figure by
    :func:`~didstudy.report.figures._style.styled_figure`.
    """
    import matplotlib

    if fmt not in FIGURE_FORMATS:
        raise DidstudyError(
            f"unknown figure format {fmt!r}",
            fix=f"use one of {', '.join(FIGURE_FORMATS)}",
        )
    buffer = io.BytesIO()
    kwargs: dict[str, Any] = {"format": fmt, "metadata": _STABLE_METADATA[fmt]}
    kwargs["dpi"] = DEFAULT_DPI if dpi is None else dpi
    style_lang = lang if lang is not None else getattr(fig, LANG_ATTRIBUTE, None)
    with contextlib.ExitStack() as stack:
        if style_lang is not None:
            stack.enter_context(figure_style(style_lang))
        rc: Any = _SAVE_RC
        stack.enter_context(matplotlib.rc_context(rc))
        fig.savefig(buffer, bbox_inches="tight", **kwargs)
    return buffer.getvalue()


def save_figure(
    fig: Any,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg"),
    dpi: float | None = None,
    lang: str | None = None,
) -> tuple[Path, ...]:
    """Write ``fig`` as ``<path_stem>.<fmt>`` for every format, each file atomically.

    Parameters
    ----------
    fig
        A matplotlib figure (built with ``matplotlib.figure.Figure``; no pyplot state needed).
    path_stem
        Destination without extension, e.g. ``out/figures/event_study``. A suffix already
        present is kept as part of the stem only if it is not a figure format.
    formats
        Any of ``"png"``, ``"svg"``, ``"pdf"``.
    dpi
        Resolution of raster output (default 200).
    lang
        Draw inside the figure style of this language (default: the language recorded on the
        figure by ``styled_figure``, else the active rc settings).

    Returns
    -------
    tuple of Path
        The written files, in the order of ``formats``.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> fig = ds.rollout_figure(panel)
    >>> [p.name for p in ds.save_figure(fig, "out/rollout", formats=("png", "svg"))]
    ['rollout.png', 'rollout.svg']
    """
    stem = Path(path_stem)
    if stem.suffix.lstrip(".").lower() in FIGURE_FORMATS:
        stem = stem.with_suffix("")
    written = []
    for fmt in formats:
        data = figure_bytes(fig, fmt, dpi=dpi, lang=lang)
        written.append(atomic_write_bytes(stem.with_name(f"{stem.name}.{fmt}"), data))
    return tuple(written)
