"""Rows a step leaves out, said out loud; numbers too large to estimate with, refused.

Estimators drop rows whose outcome, controls, treatment, weights or fixed-effect columns are
missing or infinite, and count them in ``results.json`` only. Before each estimation step the
runner calls :func:`screen_rows` on the study's panel frame: it names the columns, counts missing
and infinite values separately and lists the first rows as **file lines** of the data file
(``data/panel.csv, file lines 5, 9, 17``), for the terminal, the top of the report and the
manifest. It refuses what would silently give garbage: values so large that their squares
overflow (``1e307``: the estimate came out as ``-1.1e306`` with a blank standard error), and an
outcome that is constant in the estimation sample (estimate 0, standard error 0, t = nan).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from didstudy.errors import DataError, EstimationError

__all__ = ["MAX_MAGNITUDE", "degenerate_notes", "row_locations", "screen_rows"]

# |x| above this squares past 1e300 (float64 overflows at 1.8e308): sums of squares, variances
# and standard errors would be inf/nan; real data (even GDP in yuan) stay below 1e20
MAX_MAGNITUDE = 1e150
SHOWN_ROWS = 5
# a standard error below this fraction of the estimate's size is rounding noise of a perfect fit
# (float64 residuals of an exact fit are ~1e-16 of the data's scale), not sampling uncertainty
ZERO_SE_RELATIVE = 1e-10


def row_locations(positions: Sequence[int], lines: Sequence[int] | None, origin: str) -> str:
    """``"file lines 5, 9 of data.csv"`` (or data rows when file lines are unknown)."""
    shown = list(positions[:SHOWN_ROWS])
    more = f" (and {len(positions) - SHOWN_ROWS} more)" if len(positions) > SHOWN_ROWS else ""
    if lines is not None and all(0 <= p < len(lines) for p in shown):
        where = ", ".join(str(lines[p]) for p in shown)
        return f"file line{'s' if len(positions) > 1 else ''} {where}{more} of {origin}"
    where = ", ".join(str(p + 1) for p in shown)
    return f"data row{'s' if len(positions) > 1 else ''} {where}{more} of {origin}"


def _numeric(series: pd.Series) -> np.ndarray | None:
    if series.dtype.kind in "biuf":
        return series.to_numpy(dtype=float, na_value=np.nan)
    if series.dtype.kind == "b":
        return series.to_numpy(dtype=float)
    return None


def screen_rows(
    frame: pd.DataFrame,
    numeric: Iterable[str],
    factors: Iterable[str],
    outcome: str | None,
    lines: Sequence[int] | None,
    origin: str,
) -> tuple[str, ...]:
    """Notes on the rows a step will leave out; raises on overflow or a constant outcome.

    Parameters
    ----------
    frame
        The panel frame the step receives (after the ``[sample]`` rules and derive steps).
    numeric, factors
        The step's numeric columns (outcome, controls, treatment, weights) and its grouping
        columns (unit, time, cluster); names not in ``frame`` are ignored.
    outcome
        The outcome column (checked for a constant value), if any.
    lines, origin
        File line of each row of ``frame`` (``None`` when unknown) and the data file's name.
    """
    numeric = [c for c in dict.fromkeys(numeric) if c in frame.columns]
    factors = [c for c in dict.fromkeys(factors) if c in frame.columns and c not in numeric]
    dropped = np.zeros(len(frame), dtype=bool)
    parts: list[str] = []
    for column in numeric:
        values = _numeric(frame[column])
        if values is None:
            _not_numeric(frame[column], column, lines, origin)
            continue
        missing, infinite = np.isnan(values), np.isinf(values)
        huge = np.abs(np.where(np.isfinite(values), values, 0.0)) > MAX_MAGNITUDE
        if huge.any():
            largest = float(np.max(np.abs(values[huge])))
            raise DataError(
                f"values of magnitude above {MAX_MAGNITUDE:.0e} (largest {largest:.3g}): their "
                "squares overflow, so estimates and standard errors would be garbage; "
                f"{row_locations(np.flatnonzero(huge).tolist(), lines, origin)}",
                column=column,
                fix="rescale the column (e.g. divide by 1e6 or take logs) or correct these values",
            )
        kinds = ((missing, "missing"), (infinite, "infinite"))
        counts = [f"{int(m.sum())} {what}" for m, what in kinds if m.any()]
        if counts:
            parts.append(f"'{column}' ({', '.join(counts)})")
        dropped |= missing | infinite
    for column in factors:
        missing = frame[column].isna().to_numpy(dtype=bool)
        if missing.any():
            parts.append(f"'{column}' ({int(missing.sum())} missing)")
        dropped |= missing
    if len(frame) and dropped.all():
        raise EstimationError(
            "no observations left: every row has a missing or infinite value in "
            + ", ".join(parts),
            file=origin,
            column=parts[0].split("'")[1] if parts else None,
            fix="fill or correct the missing values, drop the column from the step, or check "
            "the [sample] rules",
        )
    if outcome is not None and outcome in numeric:
        _constant_outcome(frame, outcome, dropped, origin)
    if not dropped.any():
        return ()
    return (
        f"{int(dropped.sum())} of {len(frame)} rows left out for missing or infinite values in "
        + ", ".join(parts)
        + f": {row_locations(np.flatnonzero(dropped).tolist(), lines, origin)}",
    )


def _not_numeric(series: pd.Series, column: str, lines: Sequence[int] | None, origin: str) -> None:
    """Refuse text in a numeric column, naming the cells (blank cells count as missing)."""
    text = series.astype("string").str.strip()
    converted = pd.to_numeric(text, errors="coerce")
    bad = (converted.isna() & text.notna() & (text != "")).to_numpy(dtype=bool)
    if not bad.any():
        return
    examples = ", ".join(repr(v) for v in dict.fromkeys(text[bad].head(3).tolist()))
    raise DataError(
        f"is not numeric: {int(bad.sum())} value(s) cannot be read as numbers (e.g. {examples}); "
        f"{row_locations(np.flatnonzero(bad).tolist(), lines, origin)}",
        column=column,
        fix="correct these cells (no units, thousands separators or notes in number columns), "
        "or leave them empty to mark them missing",
    )


def _constant_outcome(frame: pd.DataFrame, outcome: str, dropped: np.ndarray, origin: str) -> None:
    values = _numeric(frame[outcome])
    if values is None:
        return
    kept = values[~dropped]
    if len(kept) > 1 and np.all(kept == kept[0]):
        raise EstimationError(
            f"the outcome is constant ({kept[0]:g} in all {len(kept)} rows of the estimation "
            "sample): every effect would be 0 with standard error 0",
            file=origin,
            column=outcome,
            fix="check the outcome column and the [sample] rules",
        )


def degenerate_notes(result: object) -> tuple[str, ...]:
    """Warnings for estimates a reader must not trust: a standard error that is 0 or missing
    next to a finite estimate (a perfect or degenerate fit), or a non-finite estimate."""
    tidy = getattr(result, "tidy", None)
    if not callable(tidy):
        return ()
    try:
        table = tidy()
    except Exception:  # a result whose table needs more context: nothing to check here
        return ()
    if not isinstance(table, pd.DataFrame) or not {"estimate", "std_error"} <= set(table):
        return ()
    estimate = pd.to_numeric(table["estimate"], errors="coerce").to_numpy(dtype=float)
    se = pd.to_numeric(table["std_error"], errors="coerce").to_numpy(dtype=float)
    terms = (
        table["term"].astype(str).tolist()
        if "term" in table
        else [str(i) for i in range(len(table))]
    )
    notes = []
    reference = estimate == 0  # a normalised reference period (event studies) has no SE
    if "reference" in table:
        reference |= table["reference"].fillna(False).to_numpy(dtype=bool)
    # a result without standard errors by design (Bacon's 2x2 comparisons) is not degenerate
    has_inference = bool((np.isfinite(se) & (se > 0)).any())
    zero = se <= ZERO_SE_RELATIVE * np.maximum(np.abs(estimate), 1.0)
    bad_se = np.isfinite(estimate) & ~reference & (zero | (np.isnan(se) & has_inference))
    if bad_se.any():
        names = ", ".join(repr(str(t)) for t in np.asarray(terms)[bad_se][:SHOWN_ROWS])
        notes.append(
            f"standard error 0 or missing for {int(bad_se.sum())} term(s) ({names}): the fit is "
            "degenerate (perfect fit, a constant or collinear regressor, or one cluster); do not "
            "read significance from these rows"
        )
    bad_estimate = ~np.isfinite(estimate) & ~np.isnan(estimate)
    if bad_estimate.any():
        names = ", ".join(repr(str(t)) for t in np.asarray(terms)[bad_estimate][:SHOWN_ROWS])
        notes.append(f"infinite estimate for {names}: the data overflow; rescale them")
    return tuple(notes)
