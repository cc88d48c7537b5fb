"""No text over text or data: bounding-box checks and placement of annotations and legends.

:func:`collisions` lists every pair (text, text) and (text, data artist) whose boxes overlap in
a drawn figure; tests assert it is empty for every figure didstudy makes. :func:`place_clear`
moves an axes' legend and its free-floating annotations (texts in axes coordinates) to the first
candidate position where they overlap nothing, giving the axes headroom when no position is
free — what ``loc="best"`` attempts, made a guarantee.

Data artists are lines (sampled along their path, reference lines included), scatter and
errorbar collections (their points and segments), bars and other patches, and images. Tick
labels and axis labels count as texts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

__all__ = ["collisions", "place_clear"]

PAD_PX = 1.0  # boxes closer than this many pixels do not count as touching (anti-aliasing)
STEP_PX = 1.0  # lines are sampled every pixel: no text box can slip between two samples
# candidate anchors of an annotation, in axes coordinates: the top corners first, then
# further down the right, left and centre, then the bottom corners
_HEIGHTS = (0.97, 0.9, 0.83, 0.76, 0.69, 0.62, 0.55)
_CORNERS: tuple[tuple[float, float, str, str], ...] = (
    *(
        (x, y, ha, "top")
        for y in _HEIGHTS
        for x, ha in ((0.02, "left"), (0.98, "right"), (0.5, "center"))
    ),
    (0.02, 0.03, "left", "bottom"),
    (0.98, 0.03, "right", "bottom"),
    (0.5, 0.03, "center", "bottom"),
)
_LEGEND_LOCS = ("upper left", "upper right", "lower left", "lower right", "upper center",
                "lower center", "center left", "center right")  # fmt: skip
_HEADROOM_STEPS = 4  # times the y-range is widened by a quarter before giving up


def _renderer(figure: Any, draw: bool = False) -> Any:
    """The figure's Agg renderer (a canvas is attached to a bare ``Figure`` first)."""
    if not hasattr(figure.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure)
    if draw:
        figure.canvas.draw()
    return figure.canvas.get_renderer()


def _box(artist: Any, renderer: Any) -> Any:
    return artist.get_window_extent(renderer)


def _overlap(a: Any, b: Any) -> bool:
    return bool(
        a.x0 + PAD_PX < b.x1
        and b.x0 + PAD_PX < a.x1
        and a.y0 + PAD_PX < b.y1
        and b.y0 + PAD_PX < a.y1
    )


def _hits_points(box: Any, points: np.ndarray) -> bool:
    if points.size == 0:
        return False
    x, y = points[:, 0], points[:, 1]
    inside = (
        (x > box.x0 + PAD_PX)
        & (x < box.x1 - PAD_PX)
        & (y > box.y0 + PAD_PX)
        & (y < box.y1 - PAD_PX)
    )
    return bool(inside.any())


def _sample(vertices: np.ndarray) -> np.ndarray:
    """Points along a polyline (display coordinates) at most :data:`STEP_PX` apart."""
    vertices = vertices[np.isfinite(vertices).all(axis=1)]
    if len(vertices) < 2:
        return vertices
    pieces = [vertices[:1]]
    for a, b in pairwise(vertices):
        n = max(2, int(np.ceil(np.hypot(*(b - a)) / STEP_PX)) + 1)
        t = np.linspace(0.0, 1.0, n)[1:, None]
        pieces.append(a + t * (b - a))
    return np.concatenate(pieces)


def _data_points(ax: Any) -> Iterator[tuple[str, np.ndarray | Any]]:
    """``(description, points or box)`` of every data artist of ``ax`` (display coordinates).

    Lines and errorbar segments are sampled along their length; scatter points are their
    centres; filled areas (CI bands), bars and images are their bounding boxes.
    """
    renderer = _renderer(ax.figure)
    for line in ax.get_lines():
        if line.get_visible():
            path = np.asarray(line.get_transform().transform(line.get_xydata()), dtype=float)
            if line.get_linestyle() not in ("None", "", " "):
                yield f"line {line.get_label()!r}", _sample(path)
            if line.get_marker() not in (None, "None", "", " "):
                yield f"markers {line.get_label()!r}", path
    for collection in ax.collections:
        if not collection.get_visible():
            continue
        label = collection.get_label()
        if hasattr(collection, "get_segments"):  # errorbar whiskers, vlines/hlines
            for segment in collection.get_segments():
                vertices = collection.get_transform().transform(np.asarray(segment, dtype=float))
                yield f"segments {label!r}", _sample(np.asarray(vertices, dtype=float))
        elif len(collection.get_offsets()) > 1:  # scatter
            points = collection.get_offset_transform().transform(collection.get_offsets())
            yield f"points {label!r}", np.asarray(points, dtype=float)
        else:  # filled areas (fill_between bands)
            for path in collection.get_paths():
                yield f"area {label!r}", path.get_extents(collection.get_transform())
    for patch in ax.patches:
        if patch.get_visible():
            yield f"patch {patch.get_label()!r}", patch.get_window_extent(renderer)
    for image in ax.images:
        yield "image", image.get_window_extent(renderer)


def _texts(figure: Any) -> list[tuple[str, Any]]:
    """Visible non-empty texts (and legends as one box) with their boxes."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    renderer = _renderer(figure)
    legends = [a for a in figure.findobj(Legend) if a.get_visible()]
    inside_legend = {id(t) for legend in legends for t in legend.findobj(Text)}
    out = [
        (f"text {t.get_text()!r}", _box(t, renderer))
        for t in figure.findobj(Text)
        if t.get_visible() and t.get_text().strip() and id(t) not in inside_legend
    ]
    out += [("legend", _box(legend, renderer)) for legend in legends]
    return out


def collisions(figure: Any) -> list[str]:
    """Every overlap of a text with another text or with a data artist, described.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(); ax = fig.subplots(); _ = ax.plot([0, 1], [0, 1])
    >>> _ = ax.text(0.5, 0.5, "on the line", ha="center", va="center")
    >>> len(collisions(fig)) > 0
    True
    """
    _renderer(figure, draw=True)
    texts = _texts(figure)
    found: list[str] = []
    for i, (name, box) in enumerate(texts):
        for other, other_box in texts[i + 1 :]:
            if _overlap(box, other_box):
                found.append(f"{name} overlaps {other}")
    for ax in figure.axes:
        own = _own_texts(ax)
        for what, data in _data_points(ax):
            for name, box in own:
                hit = (
                    _overlap(box, data)
                    if not isinstance(data, np.ndarray)
                    else _hits_points(box, data)
                )
                if hit:
                    found.append(f"{name} overlaps {what}")
    return found


def _own_texts(ax: Any) -> list[tuple[str, Any]]:
    """Texts drawn inside ``ax``'s area: its annotations and its legend."""
    renderer = _renderer(ax.figure)
    out = [(f"text {t.get_text()!r}", _box(t, renderer)) for t in ax.texts if t.get_visible()]
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        out.append(("legend", _box(legend, renderer)))
    return out


def _clear(box: Any, others: Sequence[Any], data: Sequence[Any]) -> bool:
    """True when ``box`` overlaps none of the placed boxes ``others`` and none of ``data``."""
    if any(_overlap(box, o) for o in others):
        return False
    for item in data:
        hit = _overlap(box, item) if not isinstance(item, np.ndarray) else _hits_points(box, item)
        if hit:
            return False
    return True


def _twins(ax: Any) -> list[Any]:
    """``ax`` and the axes sharing its area (``twinx``), whose data also lie under texts."""
    return [
        other
        for other in ax.figure.axes
        if other is ax or other.get_position().bounds == ax.get_position().bounds
    ]


def place_clear(figure: Any) -> None:
    """Move every axes' legend and axes-coordinate annotations to a position free of data and
    of other texts; widen the y-range (headroom on top) when no candidate is free."""
    for ax in figure.axes:
        group = _twins(ax)
        for _ in range(_HEADROOM_STEPS + 1):
            if _place(ax, group):
                break
            for member in group:
                low, high = member.get_ylim()
                member.set_ylim(low, high + 0.25 * (high - low))


def _place(ax: Any, group: Sequence[Any]) -> bool:
    """Try the candidate positions for ``ax``'s legend and annotations; True when all fit."""
    figure = ax.figure
    _renderer(figure, draw=True)
    renderer = _renderer(figure)
    placed: list[Any] = []
    data = [item for member in group for _, item in _data_points(member)]
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        for loc in (legend._loc, *_LEGEND_LOCS):
            legend.set_loc(loc)  # the legend's extent follows its loc without a redraw
            box = _box(legend, renderer)
            if _clear(box, placed, data):
                placed.append(box)
                break
        else:
            return False
    for text in ax.texts:
        if not text.get_visible() or text.get_transform() != ax.transAxes:
            continue
        for x, y, ha, va in ((*text.get_position(), text.get_ha(), text.get_va()), *_CORNERS):
            text.set_position((x, y))
            text.set_ha(ha)
            text.set_va(va)
            box = _box(text, renderer)
            if _clear(box, placed, data):
                placed.append(box)
                break
        else:
            return False
    return True
