"""Save a matplotlib figure in several formats, atomically and reproducibly."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from didstudy.errors import DidstudyError
from didstudy.report.atomic import atomic_write_bytes

__all__ = ["FIGURE_FORMATS", "figure_bytes", "save_figure"]

FIGURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

# Metadata that would make two runs differ byte for byte (dates, software versions).
_STABLE_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


def figure_bytes(fig: Any, fmt: str = "png", dpi: float | None = None) -> bytes:
    """Render ``fig`` (a :class:`matplotlib.figure.Figure`) to bytes in format ``fmt``."""
    if fmt not in FIGURE_FORMATS:
        raise DidstudyError(
            f"unknown figure format {fmt!r}",
            fix=f"use one of {', '.join(FIGURE_FORMATS)}",
        )
    buffer = io.BytesIO()
    kwargs: dict[str, Any] = {"format": fmt, "metadata": _STABLE_METADATA[fmt]}
    if dpi is not None:
        kwargs["dpi"] = dpi
    fig.savefig(buffer, bbox_inches="tight", **kwargs)
    return buffer.getvalue()


def save_figure(
    fig: Any,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg"),
    dpi: float | None = None,
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
        Resolution for raster output; default from the active rc (``savefig.dpi``).

    Returns
    -------
    tuple of Path
        The written files, in the order of ``formats``.
    """
    stem = Path(path_stem)
    if stem.suffix.lstrip(".").lower() in FIGURE_FORMATS:
        stem = stem.with_suffix("")
    written = []
    for fmt in formats:
        data = figure_bytes(fig, fmt, dpi=dpi)
        written.append(atomic_write_bytes(stem.with_name(f"{stem.name}.{fmt}"), data))
    return tuple(written)
