"""CLI commands: estimate (``didstudy twfe``)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from didstudy.cli._app import app, console, err_console
from didstudy.errors import DidstudyError, DidstudyWarning


def _names(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return (
            f"{value:.{digits}g}"
            if abs(value) >= 1e4 or abs(value) < 1e-3
            else f"{value:.{digits}f}"
        )
    return str(value)


def _fit(
    file: Path,
    y: str,
    treat: str,
    unit: str,
    time: str,
    controls: str | None,
    fe: str | None,
    cluster: str | None,
    vcov: str | None,
    ssc: str | None,
    weights: str | None,
) -> Any:
    """Read ``file``, validate it through the Panel (as ``didstudy panel``), fit the TWFE."""
    from didstudy.cli.panel import validated_panel
    from didstudy.data.io import read_table
    from didstudy.estimation.twfe import twfe

    treats = _names(treat)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DidstudyWarning)
        df = read_table(file)
        try:
            panel = validated_panel(df, unit=unit, time=time, treat=treats[0] if treats else None)
            res = twfe(
                panel,
                y,
                treats,
                _names(controls),
                fe=_names(fe) or None,
                cluster=_names(cluster) or None,
                weights=weights,
                vcov=vcov,
                ssc=ssc,
            )
        except DidstudyError as exc:
            if exc.file is None:
                exc.file = str(file)
                exc.args = (exc.render(),)
            raise
    for w in caught:
        if issubclass(w.category, DidstudyWarning):
            err_console.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False)
    return res


@app.command("twfe")
def twfe_command(
    file: Annotated[Path, typer.Argument(help="Data file: csv, tsv, xlsx, dta or parquet.")],
    y: Annotated[str, typer.Option("--y", help="Outcome column.")],
    treat: Annotated[
        str, typer.Option("--treat", "-d", help="Treatment column(s), comma-separated.")
    ],
    unit: Annotated[str, typer.Option("--unit", "-u", help="Unit identifier column.")],
    time: Annotated[str, typer.Option("--time", "-t", help="Period column.")],
    controls: Annotated[str | None, typer.Option(help="Control columns, comma-separated.")] = None,
    fe: Annotated[
        str | None,
        typer.Option(help="Fixed effects, comma-separated; 'a^b' interacts (default: unit,time)."),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="Cluster column(s), comma-separated for two-way (default: unit)."),
    ] = None,
    vcov: Annotated[str | None, typer.Option(help="Variance: crv1 (default), hc1 or iid.")] = None,
    ssc: Annotated[
        str | None, typer.Option(help="Small-sample convention: fixest (default) or stata.")
    ] = None,
    weights: Annotated[str | None, typer.Option(help="Analytic weight column.")] = None,
    alpha: Annotated[float, typer.Option(help="1 - confidence level of the intervals.")] = 0.05,
) -> None:
    """Two-way fixed-effects regression of Y on the treatment (and controls), printed as a table.

    Standard errors are clustered by the unit by default, with fixest's small-sample
    correction. Rows with missing values and singleton observations are dropped and counted.
    """
    res = _fit(file, y, treat, unit, time, controls, fe, cluster, vcov, ssc, weights)
    tidy = res.tidy(alpha)
    level = round(100 * (1 - alpha))
    table = Table(title=f"TWFE: {escape(y)}", show_lines=False)
    for col, justify in (
        ("term", "left"),
        ("estimate", "right"),
        ("std. error", "right"),
        ("t", "right"),
        ("p", "right"),
        (f"{level}% CI", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    terms = [str(t) for t in tidy["term"]]
    num = tidy[["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]]
    for term, (est, se, stat, pval, low, high) in zip(terms, num.to_numpy(float), strict=True):
        table.add_row(
            escape(term),
            _fmt(float(est)),
            _fmt(float(se)),
            f"{stat:.3f}",
            f"{pval:.4f}",
            f"[{_fmt(float(low))}, {_fmt(float(high))}]",
        )
    console.print(table)
    st = res.stats()
    stats = Table(show_header=False, box=None)
    stats.add_column("stat")
    stats.add_column("value", justify="right")
    clusters = ", ".join(st["clusters"]) if st["clusters"] else ""
    rows = [
        ("observations", st["nobs"]),
        ("fixed effects", ", ".join(st["fixed_effects"])),
        ("vcov", st["vcov"] + (f" ({clusters})" if clusters else "")),
        ("clusters", st["n_clusters"]),
        ("small-sample", st["ssc"]),
        ("t df", st["df_t"]),
        ("R2", st["r2"]),
        ("within R2", st["r2_within"]),
        ("singletons dropped", st["n_singletons"]),
        ("rows with missing values dropped", st["n_dropped_missing"]),
        ("mean of outcome", st["y_mean"]),
    ]
    for name, value in rows:
        if value is None or value == "":
            continue
        stats.add_row(name, escape(_fmt(value)))
    for name, reason in res.dropped.items():
        stats.add_row(f"dropped {escape(name)}", escape(reason))
    console.print(stats)
