"""Regression tables as Chinese and English journals print them (reference study Tables 3, 5-7).

One column per result: the coefficient with stars, the standard error (or t, p, CI) in
parentheses below; optional rows for controls (``控制变量 是``), fixed effects
(``城市固定效应 是``), summary statistics (N, R², clusters); column numbers (1), (2), ...
and spanning group headers.
Results are read through the results protocol only (``tidy()``, ``stats()``, ``to_dict()``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from didstudy.errors import DataError, DidstudyError
from didstudy.report.labels import (
    CONSTANT_TERMS,
    join_list,
    normalize_lang,
    text,
    title,
    variable_label,
)
from didstudy.report.tables._common import (
    default_note,
    first_key,
    group_header_row,
    safe_name,
)
from didstudy.report.tables.format import DEFAULT_STARS, Stars, fmt_count, fmt_number, is_missing
from didstudy.report.tables.model import Cell, Row, Table
from didstudy.report.tables.options import (
    TableOptions,
    apply_table_options,
    mechanism_columns,
    stars_of,
    table_options,
)

__all__ = ["StatisticKind", "regression_table"]

StatisticKind = Literal["se", "t", "p", "ci", "none"]

_COUNT_STATS = frozenset({"nobs", "n_clusters", "n_units", "n_periods", "n_treated"})
# default rows left out when no column has them (results that do not report the mean of y)
_OPTIONAL_STATS = frozenset({"mean_y"})
_FE_KEYS = ("fixed_effects", "fe")


def _columns(columns: Any) -> list[tuple[str, Any]]:
    if isinstance(columns, Mapping):
        return [(str(k), v) for k, v in columns.items()]
    items = list(columns)
    names = getattr(columns, "names", None)
    if all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in items):
        return [(name, result) for name, result in items]
    if names is not None and not isinstance(names, str) and len(list(names)) == len(items):
        return [(str(n), r) for n, r in zip(names, items, strict=True)]
    return [
        (item[0], item[1])
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
        else ("", item)
        for item in items
    ]


def _split_models(
    names: list[str], groups: Sequence[tuple[str, int]] | None
) -> tuple[list[str], Sequence[tuple[str, int]] | None]:
    """``"dimension: group"`` names -> group headers ``[(dimension, n)]`` and short names."""
    if groups is not None or not names or not all(": " in n for n in names):
        return names, groups
    parts = [n.split(": ", 1) for n in names]
    spans: list[tuple[str, int]] = []
    for dimension, _ in parts:
        if spans and spans[-1][0] == dimension:
            spans[-1] = (dimension, spans[-1][1] + 1)
        else:
            spans.append((dimension, 1))
    return [group for _, group in parts], spans


def _labelled(
    groups: Sequence[tuple[str, int]] | None, lang: str, labels: Mapping[str, str] | None
) -> Sequence[tuple[str, int]] | None:
    if groups is None:
        return None
    return [(variable_label(str(label), lang, labels), span) for label, span in groups]


def _difference_rows(
    differences: pd.DataFrame, names: list[str], lang: str, digits: int
) -> list[Row]:
    """Rows of p-values of the paired difference tests, spanning each pair's columns."""
    rows: list[Row] = []
    position = {name: i for i, name in enumerate(names)}
    for column, key in (("interaction_p_value", "diff_chow"), ("permutation_p_value", "diff_perm")):
        if column not in differences.columns or differences[column].isna().all():
            continue
        texts: list[str] = [""] * len(names)
        spans: dict[int, int] = {}
        for record in differences.to_dict(orient="records"):
            dimension = str(record.get("dimension", ""))
            a = position.get(f"{dimension}: {record.get('group_a')}")
            b = position.get(f"{dimension}: {record.get('group_b')}")
            if a is None:
                continue
            texts[a] = fmt_number(record[column], digits)
            if b is not None and b == a + 1:
                spans[a] = 2
        cells = [Cell(text(key, lang), align="left")]
        i = 0
        while i < len(names):
            span = spans.get(i, 1)
            cells.append(Cell(texts[i], span))
            i += span
        rows.append(Row(tuple(cells), "summary"))
    return rows


def _tidy(result: Any, name: str, index: int) -> dict[str, dict[str, Any]]:
    if not hasattr(result, "tidy"):
        raise DidstudyError(
            f"column {index + 1} ({name or 'unnamed'}) is a {type(result).__name__}, "
            "not an estimation result",
            fix="pass results with tidy(), stats() and to_dict() (didstudy.results.protocol)",
        )
    frame = result.tidy()
    for column in ("term", "estimate"):
        if column not in frame.columns:
            raise DataError(
                f"tidy() of column {index + 1} ({name or 'unnamed'}) has no {column!r} column",
                column=column,
                fix="tidy() must return term, estimate, std_error, statistic, p_value, "
                "conf_low, conf_high",
            )
    terms = frame["term"].astype(str)
    duplicated = terms[terms.duplicated()].tolist()
    if duplicated:
        raise DataError(
            f"tidy() of column {index + 1} repeats the term(s) {sorted(set(duplicated))}",
            column="term",
            fix="give every reported term a unique name",
        )
    records = frame.assign(term=terms).to_dict(orient="records")
    return {str(record["term"]): record for record in records}


def _select_terms(
    order: list[str], keep: Sequence[str] | None, drop: Sequence[str], constant_last: bool
) -> list[str]:
    if keep is not None:
        chosen: list[str] = []
        for pattern in keep:
            for term in order:
                if term not in chosen and (term == pattern or fnmatch.fnmatchcase(term, pattern)):
                    chosen.append(term)
        order = chosen
    elif constant_last:
        order = [t for t in order if t not in CONSTANT_TERMS] + [
            t for t in order if t in CONSTANT_TERMS
        ]
    return [t for t in order if not any(fnmatch.fnmatchcase(t, p) for p in drop)]


def _fe_names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.replace("+", ",").replace("^", ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return None


def _auto_fixed_effects(results: list[Any]) -> dict[str, list[bool]] | None:
    found: list[list[str] | None] = []
    for result in results:
        names = _fe_names(first_key(result.stats(), _FE_KEYS))
        if names is None and hasattr(result, "to_dict"):
            names = _fe_names(first_key(result.to_dict(), _FE_KEYS))
        found.append(names)
    if all(f is None for f in found):
        return None
    order: list[str] = []
    for names in found:
        for fe in names or []:
            if fe not in order:
                order.append(fe)
    return {fe: [fe in (names or []) for names in found] for fe in order}


def _flags(value: bool | Sequence[bool], n: int, what: str) -> list[bool]:
    if isinstance(value, bool):
        return [value] * n
    flags = [bool(v) for v in value]
    if len(flags) != n:
        raise DataError(
            f"{what} has {len(flags)} entries for {n} columns",
            fix=f"give one True/False per column (or a single bool) for {what}",
        )
    return flags


def _statistic_cell(row: Mapping[str, Any], statistic: StatisticKind, digits: int) -> str:
    def get(column: str) -> Any:
        return row.get(column)

    if statistic == "se":
        value = get("std_error")
        return "" if is_missing(value) else f"({fmt_number(value, digits)})"
    if statistic == "t":
        value = get("statistic")
        return "" if is_missing(value) else f"({fmt_number(value, digits)})"
    if statistic == "p":
        value = get("p_value")
        return "" if is_missing(value) else f"[{fmt_number(value, digits)}]"
    low, high = get("conf_low"), get("conf_high")
    if is_missing(low) or is_missing(high):
        return ""
    return f"[{fmt_number(low, digits)}, {fmt_number(high, digits)}]"


def _clustered_by(results: Sequence[Any]) -> list[str] | None:
    """The cluster variables when every column reports the same clustered vcov, else None."""
    found = []
    for result in results:
        stats = result.stats()
        clusters = stats.get("clusters")
        if str(stats.get("vcov", "")).lower() not in ("crv1", "crv3", "cluster") or not clusters:
            return None
        found.append([clusters] if isinstance(clusters, str) else [str(c) for c in clusters])
    return found[0] if found and all(f == found[0] for f in found) else None


def _statistic_clause(
    statistic: StatisticKind,
    lang: str,
    ci_level: float,
    clustered: list[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    if statistic == "se" and clustered:
        names = [
            labels[c] if labels and c in labels else c if lang == "en" else variable_label(c, lang)
            for c in clustered
        ]
        return text("note_clustered", lang, name=join_list(names, lang))
    if statistic == "none":
        return ""
    if statistic == "ci":
        return text("note_ci", lang, level=f"{ci_level:g}")
    return text({"se": "note_se", "t": "note_t", "p": "note_p"}[statistic], lang)


def _stat_value(key: str, value: Any, digits: int, thousands: str | None) -> str:
    if is_missing(value):
        return ""
    if key in _COUNT_STATS:
        return fmt_count(value, thousands)
    if isinstance(value, bool | str):
        return str(value)
    try:
        return fmt_number(float(value), digits)
    except (TypeError, ValueError):
        return str(value)


def _stat_label(key: str, lang: str) -> str:
    try:
        return text(key, lang)
    except KeyError:
        return key


def regression_table(
    columns: Mapping[str, Any] | Sequence[tuple[str, Any]] | Sequence[Any],
    *,
    lang: str = "en",
    caption: str | None = None,
    kind: str = "regression",
    number: str | int | None = None,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    dep_var: str | Sequence[str] | None = None,
    groups: Sequence[tuple[str, int]] | None = None,
    numbers: bool = True,
    show_names: bool | None = None,
    controls: Sequence[str] = (),
    show_controls: bool = True,
    controls_row: bool | Sequence[bool] | None = None,
    fixed_effects: Mapping[str, bool | Sequence[bool]] | None = None,
    stats: Sequence[str] = ("nobs", "r2", "mean_y"),
    statistic: StatisticKind = "se",
    stars: Stars | Sequence[float] = DEFAULT_STARS,
    digits: int = 3,
    stat_digits: int = 3,
    thousands: str | None = None,
    ci_level: float = 95,
    rule_before_summary: bool | None = None,
    extra_rows: Sequence[tuple[str, Sequence[Any]]] = (),
    note: str | None = None,
    notes: Sequence[str] = (),
    options: TableOptions | Mapping[str, Any] | None = None,
) -> Table:
    """Build a regression table: one column per result, coefficients over standard errors.

    Parameters
    ----------
    columns
        ``{name: result}``, a list of ``(name, result)`` or of results (a ``ResultCollection``
        with ``names`` works too). Each result implements the results protocol. A
        heterogeneity result (``.models`` named ``"dimension: group"`` and ``.differences``)
        gives group headers per dimension and rows with the p-values of the paired difference
        tests (interaction/Chow and permutation), each spanning its pair of columns.
    lang
        ``"zh"`` or ``"en"``: captions, row labels, ``是``/``Yes`` and notes.
    caption, kind, number
        The caption (default from ``kind``: ``"baseline"``, ``"robustness"``,
        ``"heterogeneity"``, ``"mechanism"``, ``"regression"``) and the table number;
        the title is ``表3 基准回归结果`` / ``Table 3 Baseline regression``.
    name
        File-name key; default from ``kind``.
    labels
        ``{variable or term: label}``; wins over built-in labels. Interactions ``a:b`` are
        labelled ``label(a) × label(b)``.
    keep, drop
        Terms (exact names or glob patterns) to show, in the order of ``keep``, and to hide.
        Without ``keep`` terms appear in order of first appearance, the intercept last.
    dep_var
        One string: a spanning ``被解释变量：...`` / ``Dependent variable: ...`` header; a list:
        one dependent variable per column (a header row under the column numbers).
    groups
        Spanning group headers ``[(label, n_columns), ...]`` above the column numbers, e.g.
        ``[("Population < 5m", 1), ("≥ 5m", 1)]``.
    numbers
        Print ``(1) (2) ...`` above the columns.
    show_names
        Print the column names as a header row (default: when any name is given).
    controls, show_controls, controls_row
        Control terms. With ``show_controls=False`` they are hidden and a ``控制变量 是/否`` row
        (yes where a column has any of them) replaces them; ``controls_row`` sets that row
        explicitly.
    fixed_effects
        ``{name: bool or one bool per column}`` -> rows ``城市固定效应 是`` / ``City FE Yes``.
        Default: read ``fixed_effects``/``fe`` from each result's ``stats()`` or ``to_dict()``
        (a list of names or ``"city+year"``); no rows when no result reports them.
    stats
        Keys of ``stats()`` printed at the bottom (default: observations, R², the mean of the
        dependent variable ``mean_y`` when the results report it): ``nobs``, ``r2``, ``r2_within``,
        ``adj_r2``, ``n_clusters`` (labelled) or any other key (printed as is).
    statistic
        Below each coefficient: ``"se"`` (default), ``"t"``, ``"p"`` (brackets), ``"ci"``
        (brackets) or ``"none"``.
    stars
        :class:`~didstudy.report.tables.format.Stars`; a p-value gets a level when strictly
        below its threshold (p = 0.01 -> ``**``). ``Stars(())`` prints no stars.
    digits, stat_digits
        Decimals of coefficients/standard errors and of R² and other non-count statistics.
    thousands
        Thousands separator of counts (N, clusters): ``None`` (``5480``), ``","``, ``" "``.
    ci_level
        Level named in the note when ``statistic="ci"``.
    extra_rows
        Further rows ``[(label, [one value per column]), ...]`` printed after the fixed-effect
        rows (``esttab``'s ``addrows``), e.g. ``("Sample", ["Full", "Matched"])``.
    rule_before_summary
        A thin rule above the indicator/summary rows. Default: yes in English, no in Chinese
        (the three-line table of Chinese journals).
    note
        Replaces the default first note (stars and what the parentheses hold; when every column
        reports the same clustered vcov -- ``stats()["vcov"] == "crv1"`` and
        ``stats()["clusters"]`` -- it says "standard errors clustered by city");
        ``""`` drops it.
    notes
        Further notes, printed after the first one.
    options
        esttab/modelsummary options applied to the finished table: ``rename``, ``order``,
        ``keep``, ``drop`` (by term name or printed label), ``indicate`` and ``extra`` rows,
        column ``groups`` and ``notes`` (:class:`~didstudy.report.tables.options.TableOptions`,
        or the same keys as a mapping, as in a study file's ``options = { ... }``).

    Models from different estimators sit side by side as long as each implements the results
    protocol (``tidy()``, ``stats()``); ``stars`` may be a list of thresholds
    (``[0.01, 0.05, 0.1]``), ``statistic`` picks SE, t, p or CI per table; mechanism models
    named ``"<M> (a)"``/``"<y> (b: <M>)"`` get a labelled column group per mediator.

    Returns
    -------
    Table

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.simulate_staggered(seed=1), unit="unit", time="time", treat="treat")
    >>> table = ds.regression_table({"TWFE": ds.twfe(panel, "y", "treat", controls=["x1"])})
    >>> paths = ds.write_table(table, "out/table3", formats=("md", "tex", "docx"))
    """
    code = normalize_lang(lang)
    differences: pd.DataFrame | None = None
    if hasattr(columns, "models") and hasattr(columns, "differences"):
        differences = pd.DataFrame(columns.differences)
        columns = columns.models
    items = _columns(columns)
    if not items:
        raise DidstudyError("regression_table needs at least one result", fix="pass results")
    full_names = [n for n, _ in items]
    results = [r for _, r in items]
    names = full_names
    if differences is not None and groups is None:
        names, derived = _split_models(full_names, None)
        groups = _labelled(derived, code, labels)
    if groups is None and differences is None:
        mechanism = mechanism_columns(names, code, labels)  # "<M> (a)", "<y> (b: <M>)"
        if mechanism is not None:
            names, groups = mechanism
    names = [str(labels[nm]) if labels and nm in labels else nm for nm in names]
    if not isinstance(stars, Stars):
        stars = stars_of(stars)
    tidies = [_tidy(r, nm, i) for i, (nm, r) in enumerate(items)]
    hidden = set(controls) if (controls and not show_controls) else set()
    terms = _visible_terms(tidies, keep, drop, hidden)
    if caption is None:
        try:
            caption = text(f"caption_{kind}", code)
        except KeyError:
            caption = text("caption_regression", code)
    header = _header_rows(code, names, dep_var, groups, numbers, show_names, name or kind)
    body = _coefficient_rows(terms, tidies, code, labels, digits, statistic, stars)
    footer = _footer_rows(
        results, tidies, full_names, differences, code, labels, digits, controls, hidden,
        controls_row, fixed_effects, extra_rows, stats, stat_digits, thousands,
    )  # fmt: skip
    if footer:
        if rule_before_summary is None:
            rule_before_summary = code == "en"
        first = footer[0]
        footer[0] = Row(first.cells, first.kind, rule_above=rule_before_summary)
    footer = [Row(r.cells, "indicator", r.rule_above) if r.kind == "body" else r for r in footer]

    first_note = (
        default_note(
            stars,
            code,
            _statistic_clause(statistic, code, ci_level, _clustered_by(results), labels),
        )
        if note is None
        else note
    )
    all_notes = tuple(x for x in (first_note, *notes) if x)
    table = Table(
        caption=caption,
        header=tuple(header),
        body=tuple(body + footer),
        notes=all_notes,
        number=None if number is None else str(number),
        title=title(caption, code, number),
        name=name or safe_name(kind),
        lang=code,
    )
    if options is None:
        return table
    printed = {t: variable_label(t, code, labels) for t in terms}
    return apply_table_options(table, table_options(options, printed))


def _visible_terms(
    tidies: Sequence[Mapping[str, Any]],
    keep: Sequence[str] | None,
    drop: Sequence[str],
    hidden: set[str],
) -> list[str]:
    """Terms in order of first appearance, selected, the constant last, hidden controls out."""
    appearance: list[str] = []
    for frame in tidies:
        for term in frame:
            if term not in appearance:
                appearance.append(term)
    return [t for t in _select_terms(appearance, keep, drop, constant_last=True) if t not in hidden]


def _header_rows(
    code: str,
    names: list[str],
    dep_var: str | Sequence[str] | None,
    groups: Sequence[tuple[str, int]] | None,
    numbers: bool,
    show_names: bool | None,
    group_name: str,
) -> list[Row]:
    """Dependent variable, column groups, column numbers and names; the stub on the last row."""
    n = len(names)
    header: list[Row] = []
    if isinstance(dep_var, str):
        dep_cell = Cell(text("dep_var", code, name=dep_var), n)
        header.append(Row((Cell("", align="left"), dep_cell), "group"))
    if groups is not None:
        header.append(group_header_row(groups, n, group_name))
    if numbers:
        header.append(Row.of(["", *(f"({i + 1})" for i in range(n))], "header"))
    if show_names is None:
        show_names = any(names) and names != [f"({i + 1})" for i in range(n)]
    if show_names:
        header.append(Row.of(["", *names], "header"))
    if dep_var is not None and not isinstance(dep_var, str):
        per_column = [str(d) for d in dep_var]
        if len(per_column) != n:
            raise DataError(
                f"dep_var lists {len(per_column)} names for {n} columns",
                fix="give one dependent variable per column, or one string for all",
            )
        header.append(Row.of(["", *per_column], "header"))
    if not header:
        header.append(Row.of(["", *([""] * n)], "header"))
    last = header[-1]
    header[-1] = Row((Cell(text("variable", code), align="left"), *last.cells[1:]), "header")
    return header


def _coefficient_rows(
    terms: Sequence[str],
    tidies: Sequence[Mapping[str, Mapping[str, Any]]],
    code: str,
    labels: Mapping[str, str] | None,
    digits: int,
    statistic: StatisticKind,
    stars: Stars,
) -> list[Row]:
    """Per term: the estimates with stars, then (unless ``statistic="none"``) the statistic."""
    body: list[Row] = []
    for term in terms:
        coef, below = [variable_label(term, code, labels)], [""]
        for frame in tidies:
            if term not in frame:
                coef.append("")
                below.append("")
                continue
            record = frame[term]
            estimate = fmt_number(record["estimate"], digits)
            coef.append(estimate + (stars(record.get("p_value")) if estimate else ""))
            below.append(_statistic_cell(record, statistic, digits))
        body.append(Row.of(coef, "coef"))
        if statistic != "none":
            body.append(Row.of(below, "stat"))
    return body


def _footer_rows(
    results: Sequence[Any],
    tidies: Sequence[Mapping[str, Any]],
    full_names: Sequence[str],
    differences: pd.DataFrame | None,
    code: str,
    labels: Mapping[str, str] | None,
    digits: int,
    controls: Sequence[str],
    hidden: set[str],
    controls_row: bool | Sequence[bool] | None,
    fixed_effects: Mapping[str, bool | Sequence[bool]] | None,
    extra_rows: Sequence[tuple[str, Sequence[Any]]],
    stats: Sequence[str],
    stat_digits: int,
    thousands: str | None,
) -> list[Row]:
    """Group differences, controls and fixed-effect indicators, extra rows, statistics."""
    n = len(results)
    footer: list[Row] = []
    if differences is not None and not differences.empty:
        footer += _difference_rows(differences, list(full_names), code, digits)
    yes, no = text("yes", code), text("no", code)
    if controls_row is not None:
        flags = _flags(controls_row, n, "controls_row")
        footer.append(Row.of([text("controls", code), *(yes if f else no for f in flags)]))
    elif hidden:
        flags = [any(c in frame for c in controls) for frame in tidies]
        footer.append(Row.of([text("controls", code), *(yes if f else no for f in flags)]))
    fe_spec = fixed_effects if fixed_effects is not None else _auto_fixed_effects(list(results))
    for fe, value in (fe_spec or {}).items():
        flags = _flags(value, n, f"fixed_effects[{fe!r}]")
        label = text("fe_row", code, name=variable_label(fe, code, labels))
        label = label[:1].upper() + label[1:] if code == "en" else label
        footer.append(Row.of([label, *(yes if f else no for f in flags)], "indicator"))
    for label, values in extra_rows:
        texts = [str(v) for v in values]
        if len(texts) != n:
            raise DataError(
                f"extra row {label!r} has {len(texts)} values for {n} columns",
                fix="give one value per column",
            )
        footer.append(Row.of([str(label), *texts], "indicator"))
    for key in stats:
        values = [_stat_value(key, r.stats().get(key), stat_digits, thousands) for r in results]
        if any(values) or key not in _OPTIONAL_STATS:
            footer.append(Row.of([_stat_label(key, code), *values], "summary"))
    return footer
