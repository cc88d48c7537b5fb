"""Variable definitions (reference study Table 1): type, variable, definition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from didstudy.errors import DataError
from didstudy.report.labels import normalize_lang, text, title, variable_label
from didstudy.report.tables.model import Cell, Row, Table

__all__ = ["definitions_table"]


def _records(definitions: Any) -> list[tuple[str, str, str]]:
    if isinstance(definitions, pd.DataFrame):
        missing = [c for c in ("variable", "definition") if c not in definitions.columns]
        if missing:
            raise DataError(
                f"the definitions frame lacks the column(s) {', '.join(missing)}",
                column=missing[0],
                fix="pass columns type (optional), variable, definition",
            )
        kinds = definitions["type"] if "type" in definitions.columns else [""] * len(definitions)
        return [
            (str(k), str(v), str(d))
            for k, v, d in zip(
                kinds, definitions["variable"], definitions["definition"], strict=True
            )
        ]
    out = []
    for entry in definitions:
        if len(entry) == 2:
            out.append(("", str(entry[0]), str(entry[1])))
        elif len(entry) == 3:
            out.append((str(entry[0]), str(entry[1]), str(entry[2])))
        else:
            raise DataError(
                f"a definition has {len(entry)} fields: {entry!r}",
                fix="give (variable, definition) or (type, variable, definition)",
            )
    return out


def definitions_table(
    definitions: pd.DataFrame | Sequence[Sequence[str]],
    *,
    lang: str = "en",
    labels: Mapping[str, str] | None = None,
    caption: str | None = None,
    number: str | int | None = None,
    name: str = "definitions",
    notes: Sequence[str] = (),
) -> Table:
    """Table of variables and their definitions, grouped by type as Chinese journals print it.

    Parameters
    ----------
    definitions
        Rows ``(type, variable, definition)`` or ``(variable, definition)``, or a frame with
        ``variable``, ``definition`` and optionally ``type`` (``被解释变量``, ``控制变量``, ...).
        Consecutive rows of one type show the type once (the column is dropped when no row has
        a type).
    lang
        ``"zh"`` or ``"en"``: caption and headers.
    labels
        ``{variable: label}`` printed in the label column; wins over built-in labels.
    caption, number, name
        Caption without its number (default: the built-in caption of ``lang``), the printed
        table number (``3`` or ``"5a"``) and the file-name key of the table
        (default ``"definitions"``).
    notes
        Lines under the table (default: none).

    Returns
    -------
    Table
        Variable, label and definition (and source) per row.

    Examples
    --------
    >>> import didstudy as ds
    >>> table = ds.definitions_table([["indg", "Industrial agglomeration", "Dagum Gini"]])
    """
    code = normalize_lang(lang)
    records = _records(definitions)
    with_type = any(kind for kind, _, _ in records)
    header_texts = [text("variable", code), text("definition", code)]
    if with_type:
        header_texts.insert(0, text("variable_type", code))
    body = []
    previous = None
    for kind, variable, definition in records:
        texts = [variable_label(variable, code, labels), definition]
        if with_type:
            texts.insert(0, kind if kind != previous else "")
            previous = kind
        cells = [Cell(t, align="left") for t in texts]
        body.append(Row(tuple(cells), "body"))
    caption = caption if caption is not None else text("caption_definitions", code)
    return Table(
        caption=caption,
        header=(Row(tuple(Cell(t, align="left") for t in header_texts), "header"),),
        body=tuple(body),
        notes=tuple(notes),
        number=None if number is None else str(number),
        title=title(caption, code, number),
        name=name,
        lang=code,
    )
