"""CLI commands: panel (read a table, validate it as a panel, print a summary)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from didstudy.cli._app import app, console
from didstudy.cli._located import names_file
from didstudy.errors import DataError


def _read(file: Path, sheet: str | None, encoding: str | None, ids: tuple[str, ...] = ()) -> Any:
    """Read ``file``; the ``ids`` columns are kept as text (``NA`` stays a unit) and checked
    for near-duplicate ids (a warning)."""
    from didstudy.data.io import read_table

    if sheet is None or not sheet.isdigit():
        frame = read_table(file, sheet=sheet, encoding=encoding, text_columns=ids)
    else:
        try:  # a sheet named "2010" wins over index 2010
            frame = read_table(file, sheet=sheet, encoding=encoding, text_columns=ids)
        except DataError as exc:
            if "no sheet" not in str(exc):
                raise
            frame = read_table(file, sheet=int(sheet), encoding=encoding, text_columns=ids)
    _warn_near_duplicates(frame, ids, str(file))
    return frame


def _warn_near_duplicates(frame: Any, ids: tuple[str, ...], origin: str) -> None:
    import warnings as _warnings

    from didstudy.data.units import near_duplicate_ids, near_duplicate_message
    from didstudy.errors import DidstudyWarning

    for column in ids:
        if column in frame.columns:
            groups = near_duplicate_ids(frame[column].tolist())
            if groups:
                message = near_duplicate_message(column, groups, origin)
                _warnings.warn(message, DidstudyWarning, stacklevel=3)


def _filter(df: Any, query: str) -> Any:
    try:
        out = df.query(query)
    except Exception as exc:  # pandas raises many types for a bad expression
        raise DataError(
            f"the query {query!r} failed: {type(exc).__name__}: {exc}",
            fix='write a pandas query over column names, e.g. --query "sex == 2" '
            "(quote names with spaces or dots in backticks).",
        ) from None
    out.attrs = dict(df.attrs)
    return out


def validated_panel(df: Any, **roles: Any) -> Any:
    """The Panel of ``df`` with ``roles``, checked for an estimable treatment.

    The one validation of ``didstudy panel``, ``didstudy twfe``, ``validate`` and ``run``
    (:meth:`~didstudy.data.panel.Panel.require_estimable`, decision record 0020).
    """
    from didstudy.data.panel import Panel
    from didstudy.errors import DidstudyError, rows_to_file_lines

    try:
        panel = Panel(df, **roles)
        panel.require_estimable()
    except DidstudyError as exc:
        lines = df.attrs.get("file_lines")
        if lines is not None and len(lines) == len(df):
            rows_to_file_lines(exc, dict(zip(df.index, (int(v) for v in lines), strict=True)))
        raise
    return panel


@app.command("panel")
@names_file
def panel_command(
    file: Annotated[Path, typer.Argument(help="Data file: csv, tsv, xlsx, dta or parquet.")],
    unit: Annotated[str, typer.Option("--unit", "-u", help="Unit identifier column.")],
    time: Annotated[str, typer.Option("--time", "-t", help="Period column (integer years).")],
    treat: Annotated[
        str | None, typer.Option("--treat", "-d", help="0/1 treatment indicator column.")
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option("--cohort", "-g", help="First treated period column (0/empty = never)."),
    ] = None,
    weight: Annotated[str | None, typer.Option(help="Observation weight column.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Cluster identifier column.")] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Excel sheet name or 0-based index (default: first).")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding (default: detect UTF-8 / GBK-GB18030)."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(help='Keep rows matching a pandas query first, e.g. "sex == 2".'),
    ] = None,
    allow_switching: Annotated[
        bool, typer.Option("--allow-switching", help="Allow treatment that switches off.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
) -> None:
    """Read FILE, validate it as a unit-by-period panel and summarise it.

    Give the treatment either as a 0/1 indicator (--treat) or as the first treated period
    (--cohort). Problems (duplicated unit-period rows, a treatment that is not 0/1 or switches
    off, missing values) stop with a message naming the column, the rows and the fix.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = _read(file, sheet, encoding, (unit,))
        if query:
            df = _filter(df, query)
        panel = validated_panel(
            df,
            unit=unit,
            time=time,
            treat=treat,
            cohort=cohort,
            weight=weight,
            cluster=cluster,
            allow_switching=allow_switching,
        )
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    info = panel.describe()
    info.pop("notes", None)
    if as_json:
        out = {
            **info,
            "file": str(file),
            "encoding": df.attrs.get("encoding"),
            "sheet": df.attrs.get("sheet"),
            "gaps": {str(k): v for k, v in info["gaps"].items()},
            "always_treated": [str(u) for u in info["always_treated"]],
            "warnings": messages,
        }
        console.print_json(json.dumps(out, ensure_ascii=False, default=str))
        return

    summary = Table(title=f"Panel: {escape(str(file))}", show_header=False, title_justify="left")
    summary.add_column("item", style="bold")
    summary.add_column("value")
    source = df.attrs.get("format", "")
    if df.attrs.get("encoding"):
        source += f", encoding {df.attrs['encoding']}"
    if df.attrs.get("sheet") is not None:
        source += f", sheet {df.attrs['sheet']!r}"
    rows = [
        ("source", source),
        ("unit / time / treatment", f"{unit} / {time} / {treat or cohort}"),
        ("observations", str(info["n_obs"])),
        ("units", str(info["n_units"])),
        ("periods", f"{info['n_periods']} ({info['periods'][0]}-{info['periods'][1]})"),
        ("balanced", "yes" if info["balanced"] else "no"),
        ("never treated units", str(info["n_never_treated"])),
        ("always treated units", str(info["n_always_treated"])),
        ("units with gaps", str(info["n_units_with_gaps"])),
        ("treated share of rows", f"{info['treated_share']:.3f}"),
    ]
    for key, value in rows:
        summary.add_row(key, escape(value))
    console.print(summary)

    cohorts = Table(title="Cohorts (first treated period)", title_justify="left")
    cohorts.add_column("cohort", justify="right")
    cohorts.add_column("units", justify="right")
    cohorts.add_column("share", justify="right")
    n = max(info["n_units"], 1)
    for g, count in info["cohorts"].items():
        cohorts.add_row(str(g), str(count), f"{count / n:.3f}")
    cohorts.add_row("never", str(info["n_never_treated"]), f"{info['n_never_treated'] / n:.3f}")
    console.print(cohorts)
    if messages:
        console.print("[bold yellow]Warnings[/]")
        for msg in messages:
            console.print(f"  - {escape(msg)}")
