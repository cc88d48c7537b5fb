"""esttab/modelsummary-style options applied to a format-independent regression table.

:func:`apply_table_options` takes a finished :class:`~didstudy.report.tables.model.Table` (the
output of :func:`~didstudy.report.tables.regression.regression_table`) and returns a new one
with coefficients renamed, reordered, kept or dropped, indicator rows (``Controls: Yes``) and
extra statistic rows added, column groups set above the model columns and notes appended — the
features of Stata ``esttab`` (``rename() order() keep() drop() indicate() stats() mgroups()
addnotes()``) and R ``modelsummary`` (``coef_rename coef_map add_rows notes``). Every option is
also a key of a ``regression_table`` step in the study file (``options = { ... }``).

Rows are found by their *printed* stub (the variable label) or by the term name when a
``labels`` mapping is given, so options work the same on tables built in either language.

It also labels the columns of mechanism tables (:func:`mechanism_columns`): a model named
``"<M> (a)"`` or ``"<y> (b: <M>)"`` gets a column group ``label(M)`` spanning its (a) and (b)
columns and the labelled dependent variable as its column name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from didstudy.errors import DidstudyError
from didstudy.report.labels import variable_label
from didstudy.report.tables.format import Stars
from didstudy.report.tables.model import Cell, Row, Table

__all__ = [
    "TableOptions",
    "apply_table_options",
    "dependent_means",
    "mechanism_columns",
    "stars_of",
    "table_options",
]

_MECHANISM_A = re.compile(r"^(?P<m>.+) \(a\)$")
_MECHANISM_B = re.compile(r"^(?P<y>.+) \(b: (?P<m>.+)\)$")


def mechanism_columns(
    names: Sequence[str], lang: str, labels: Mapping[str, str] | None
) -> tuple[list[str], list[tuple[str, int]]] | None:
    """Column names and groups of a mechanism table, or ``None`` if ``names`` are not one.

    Examples
    --------
    >>> mechanism_columns(["m (a)", "y (b: m)"], "en", {"m": "Patents", "y": "INDG"})
    (['Patents', 'INDG'], [('Patents', 2)])
    """
    out: list[str] = []
    groups: list[tuple[str, int]] = []
    for name in names:
        a, b = _MECHANISM_A.match(name), _MECHANISM_B.match(name)
        if a is None and b is None:
            return None
        mediator = (a or b).group("m")  # type: ignore[union-attr]
        dependent = mediator if a is not None else b.group("y")  # type: ignore[union-attr]
        out.append(variable_label(dependent, lang, labels))
        label = variable_label(mediator, lang, labels)
        if groups and groups[-1][0] == label:
            groups[-1] = (label, groups[-1][1] + 1)
        else:
            groups.append((label, 1))
    return out, groups


@dataclass(frozen=True)
class TableOptions:
    """esttab/modelsummary options of a regression table.

    Attributes
    ----------
    rename
        ``{term or printed label: new label}`` (esttab ``rename()``, modelsummary ``coef_rename``).
    order
        Terms (or labels) first, in this order; the others keep their order after them.
    keep, drop
        Terms (or labels) to keep (all others dropped) or to drop, with their statistic rows.
    indicate
        ``{row label: [cell per column]}`` indicator rows (``{"Controls": ["Yes", "No"]}``),
        added before the summary statistics.
    extra
        ``{row label: [cell per column]}`` statistic rows added at the end (``Mean of y``,
        ``Clusters``, ``F``); see :func:`dependent_means`.
    groups
        ``[(label, span), ...]`` column groups above the model columns (esttab ``mgroups()``).
    notes
        Lines appended to the notes (esttab ``addnotes()``).
    labels
        ``{term: printed label}`` used to find terms by name in the printed table.
    """

    rename: Mapping[str, str] = field(default_factory=dict)
    order: Sequence[str] = ()
    keep: Sequence[str] = ()
    drop: Sequence[str] = ()
    indicate: Mapping[str, Sequence[str]] = field(default_factory=dict)
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)
    groups: Sequence[tuple[str, int]] = ()
    notes: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


def _blocks(body: Sequence[Row]) -> tuple[list[list[Row]], list[Row]]:
    """Coefficient blocks (a ``coef`` row and its statistic rows) and the rows after them."""
    blocks: list[list[Row]] = []
    rest: list[Row] = []
    for row in body:
        if row.kind == "coef" and not rest:
            blocks.append([row])
        elif row.kind == "stat" and blocks and not rest:
            blocks[-1].append(row)
        else:
            rest.append(row)
    return blocks, rest


def _stub(row: Row) -> str:
    return row.cells[0].text


def _match(block: list[Row], names: Sequence[str], labels: Mapping[str, str]) -> int | None:
    stub = _stub(block[0])
    for i, name in enumerate(names):
        if stub == name or stub == labels.get(name):
            return i
    return None


def _row_of(label: str, cells: Sequence[str], n_cols: int, kind: Any, rule: bool) -> Row:
    if len(cells) != n_cols - 1:
        raise DidstudyError(
            f"table row {label!r} has {len(cells)} cells for {n_cols - 1} columns",
            fix="give one cell per model column",
        )
    return Row.of([label, *map(str, cells)], kind, rule_above=rule)


def apply_table_options(table: Table, options: TableOptions) -> Table:
    """``table`` with ``options`` applied (see :class:`TableOptions`); the input is unchanged.

    Examples
    --------
    >>> t = Table("c", header=(Row.of(["", "(1)"], "header"),),
    ...           body=(Row.of(["x", "1.0"], "coef"), Row.of(["", "(0.1)"], "stat"),
    ...                 Row.of(["N", "10"], "summary", rule_above=True)))
    >>> out = apply_table_options(t, TableOptions(rename={"x": "Policy"},
    ...                                            extra={"Mean of y": ["2.0"]}))
    >>> [r.cells[0].text for r in out.body]
    ['Policy', '', 'N', 'Mean of y']
    """
    labels = dict(options.labels)
    blocks, rest = _blocks(table.body)
    if options.keep:
        blocks = [b for b in blocks if _match(b, options.keep, labels) is not None]
    if options.drop:
        blocks = [b for b in blocks if _match(b, options.drop, labels) is None]
    if options.order:
        first = sorted(
            (b for b in blocks if _match(b, options.order, labels) is not None),
            key=lambda b: _match(b, options.order, labels) or 0,
        )
        blocks = first + [b for b in blocks if _match(b, options.order, labels) is None]
    renamed: list[Row] = []
    for block in blocks:
        head, *stats = block
        new = _match(block, list(options.rename), labels)
        if new is not None:
            text = list(options.rename.values())[new]
            head = replace(head, cells=(replace(head.cells[0], text=text), *head.cells[1:]))
        renamed += [head, *stats]
    indicate = [
        _row_of(label, cells, table.n_cols, "indicator", i == 0)
        for i, (label, cells) in enumerate(options.indicate.items())
    ]
    extra = [
        _row_of(label, cells, table.n_cols, "summary", False)
        for label, cells in options.extra.items()
    ]
    if indicate and rest:
        rest = [replace(rest[0], rule_above=False), *rest[1:]]
    header = table.header
    if options.groups:
        total = sum(span for _, span in options.groups)
        if total != table.n_cols - 1:
            raise DidstudyError(
                f"column groups span {total} columns; the table has {table.n_cols - 1}",
                fix="make the spans add up to the number of model columns",
            )
        cells = tuple(Cell(str(label), int(span)) for label, span in options.groups)
        header = (Row((Cell("", align="left"), *cells), "group"), *header)
    return replace(
        table,
        header=header,
        body=(*renamed, *indicate, *rest, *extra),
        notes=(*table.notes, *options.notes),
    )


def dependent_means(results: Sequence[Any], digits: int = 3) -> list[str]:
    """Mean of the dependent variable of every result (``stats()["mean_y"]``; blank if absent).

    Examples
    --------
    >>> class R:
    ...     def stats(self): return {"mean_y": 0.25}
    >>> dependent_means([R(), object()])
    ['0.250', '']
    """
    out = []
    for result in results:
        stats = result.stats() if hasattr(result, "stats") else {}
        value = stats.get("mean_y", stats.get("depvar_mean")) if stats else None
        out.append("" if value is None else f"{float(value):.{digits}f}")
    return out


_OPTION_KEYS = frozenset(
    {"rename", "order", "keep", "drop", "indicate", "extra", "groups", "notes", "labels"}
)


def table_options(
    value: TableOptions | Mapping[str, Any], printed: Mapping[str, str] | None = None
) -> TableOptions:
    """:class:`TableOptions` from a mapping (a study file's ``options = { ... }``).

    ``printed`` (``{term: printed label}``) lets options name terms; unknown keys are an error.

    Examples
    --------
    >>> table_options({"groups": [["OLS", 2]], "notes": ["n"]}).groups
    (('OLS', 2),)
    """
    if isinstance(value, TableOptions):
        options = value
    else:
        unknown = sorted(set(value) - _OPTION_KEYS)
        if unknown:
            raise DidstudyError(
                f"unknown table option(s) {', '.join(map(repr, unknown))}",
                fix=f"use some of {', '.join(sorted(_OPTION_KEYS))}",
            )
        options = TableOptions(
            rename=dict(value.get("rename", {})),
            order=tuple(value.get("order", ())),
            keep=tuple(value.get("keep", ())),
            drop=tuple(value.get("drop", ())),
            indicate={str(k): list(v) for k, v in dict(value.get("indicate", {})).items()},
            extra={str(k): list(v) for k, v in dict(value.get("extra", {})).items()},
            groups=tuple((str(g[0]), int(g[1])) for g in value.get("groups", ())),
            notes=tuple(str(n) for n in value.get("notes", ())),
            labels=dict(value.get("labels", {})),
        )
    if printed:
        options = replace(options, labels={**printed, **options.labels})
    return options


def stars_of(thresholds: Sequence[float]) -> Stars:
    """Stars for thresholds, strictest first: ``[0.01, 0.05, 0.1]`` -> ``***``, ``**``, ``*``.

    Examples
    --------
    >>> stars_of([0.05, 0.1])(0.03)
    '**'
    """
    levels = sorted(float(t) for t in thresholds)
    n = len(levels)
    return Stars(tuple((t, "*" * (n - i)) for i, t in enumerate(levels)))
