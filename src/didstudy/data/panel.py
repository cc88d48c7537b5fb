"""The validated, immutable panel every estimator takes.

A :class:`Panel` is a private copy of the user's frame plus explicit column roles (unit, time,
treatment as a 0/1 indicator or a first-treated period, optional weight and cluster) and the
derived columns estimators rely on: ``_cohort``, ``_rel_time``, ``_never_treated``,
``_treated`` and ``_always_treated``. It is validated once, at construction.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from didstudy.data.io import require_columns
from didstudy.data.keys import RowKeys, row_keys
from didstudy.data.validate import (
    as_numeric,
    as_periods,
    check_absorbing,
    check_binary,
    check_cohort_constant,
    check_duplicates,
    check_no_missing,
    check_treat_matches_cohort,
    find_gaps,
)
from didstudy.errors import (
    DataError,
    PanelRequiredError,
    PanelWarning,
    ValidationError,
    format_rows,
)

__all__ = ["DERIVED_COLUMNS", "Panel", "as_panel", "panel_for"]

COHORT = "_cohort"
REL_TIME = "_rel_time"
NEVER = "_never_treated"
TREATED = "_treated"
ALWAYS = "_always_treated"
DERIVED_COLUMNS: tuple[str, ...] = (COHORT, REL_TIME, NEVER, TREATED, ALWAYS)


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _warn(msg: str, notes: list[str]) -> None:
    notes.append(msg)
    # stacklevel 4: the caller of Panel(...) (helper -> __init__ -> caller)
    warnings.warn(msg, PanelWarning, stacklevel=4)


def _check_roles(
    df: pd.DataFrame,
    unit: str,
    time: str,
    treat: str | None,
    cohort: str | None,
    weight: str | None,
    cluster: str | None,
) -> dict[str, str]:
    """The named roles ``{role: column}``; raise on a missing column or a role clash."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(
            f"Panel needs a pandas DataFrame, got {type(df).__name__}.",
            fix="read the data with didstudy.read_table(...) or pandas first.",
        )
    if treat is None and cohort is None:
        raise ValidationError(
            "no treatment given.",
            fix="pass treat='<0/1 column>' or cohort='<first treated period column>'.",
        )
    roles = {"unit": unit, "time": time, "treat": treat, "cohort": cohort}
    roles |= {"weight": weight, "cluster": cluster}
    named = {k: v for k, v in roles.items() if v is not None}
    for key in ("unit", "time", "treat", "cohort"):
        col = named.get(key)
        if col is not None and col in DERIVED_COLUMNS and col != TREATED:
            raise ValidationError(
                f"'{col}' is a column Panel derives; it cannot be the {key} role.",
                column=col,
                fix="pass the original column (e.g. the cohort or treatment column).",
            )
    for key, col in named.items():
        require_columns(df, [col], role=key)
    if len(df) == 0:
        raise ValidationError(
            "the data have no rows.",
            fix="check the file (or the sample rules that filtered it) and pass a non-empty panel.",
        )
    clash = [k for k in ("unit", "time") if named[k] in {treat, cohort, weight}]
    if named["unit"] == named["time"] or clash:
        raise ValidationError(
            f"the same column is given two roles: {named}.",
            fix="give unit, time and the treatment different columns.",
        )
    return named


def _private_copy(
    df: pd.DataFrame, named: dict[str, str], unit: str, time: str
) -> tuple[pd.DataFrame, list[str], RowKeys]:
    """A private copy with clean unit and integer time columns; unique (unit, time) pairs."""
    used = set(named.values())
    # a private copy that keeps the caller's index labels for messages
    drop = [c for c in DERIVED_COLUMNS if c in df.columns and c not in used]
    # the constructor copies the data but not attrs: df.copy() would deep-copy attrs (the file
    # line of every row after read_table), which are dropped below anyway
    work = pd.DataFrame(df, copy=True) if type(df) is pd.DataFrame else df.copy(deep=True)
    if drop:
        work = work.drop(columns=drop)
    # index level names may repeat column names (df.set_index("unit", drop=False)), which
    # makes sorting and grouping by those columns ambiguous; the labels are kept for errors
    if any(name is not None for name in work.index.names):
        work.index = work.index.set_names([None] * work.index.nlevels)
    work.attrs = {}
    notes: list[str] = []
    check_no_missing(work[unit], unit, "unit")
    if work[unit].dtype == object:
        # the distinct type(v).__name__ of the values (set(map(type, ...)) runs in C)
        kinds = sorted({kind.__name__ for kind in set(map(type, work[unit].to_numpy()))})
        if len(kinds) > 1:
            raise ValidationError(
                f"the unit column mixes value types ({', '.join(kinds)}), so the same id "
                "written as a number and as text (110000 vs '110000') counts as two units.",
                column=unit,
                fix=f"convert the unit ids to one type, e.g. df['{unit}'].astype(str).",
            )
    column = work[time]
    periods, note = as_periods(column, time)
    if note:
        _warn(note, notes)
    if periods is not column:  # as_periods returns exact int64 periods as they are
        work[time] = periods
    keys = row_keys(work[unit], periods.to_numpy())
    if not keys.unique:
        check_duplicates(work, unit, time)  # names the pairs and their rows
    return work, notes, keys


def _treatment_values(
    work: pd.DataFrame,
    keys: RowKeys,
    names: tuple[str, str],
    treat: str | None,
    allow_switching: bool,
) -> NDArray[np.int64] | None:
    """The 0/1 treatment as int64 (None without ``treat``); absorbing unless allowed."""
    if treat is None:
        return None
    values = check_binary(as_numeric(work[treat], treat, "treatment", allow_missing=False), treat)
    work[treat] = values
    d: NDArray[np.int64] = values.to_numpy()
    if not allow_switching and keys.switches_off(d):
        check_absorbing(work, names[0], names[1], treat)  # names the units, periods and rows
    return d


def _cohorts(
    work: pd.DataFrame,
    keys: RowKeys,
    names: tuple[str, str],
    cohort: str | None,
    treat: str | None,
    treat_values: NDArray[np.int64] | None,
    notes: list[str],
) -> NDArray[np.float64]:
    """First treated period per unit (float, ``inf`` = never treated within the sample).

    Checks on values constant within units run on one value per unit; the rows named in a
    message are found again row by row.
    """
    unit, time = names
    if cohort is None:
        assert treat_values is not None
        t = work[time].to_numpy().astype(np.float64)
        first: NDArray[np.float64] = keys.unit_min(np.where(treat_values == 1, t, np.inf))
        return first
    t_last_all = int(keys.periods[-1])  # _check_roles refused an empty frame
    g = as_numeric(work[cohort], cohort, "cohort", allow_missing=True)
    values = g.to_numpy()
    coded = np.where(np.isnan(values), 0.0, values)  # NaN and 0 both mean never treated
    g_unit = keys.unit_min(coded)
    if bool(np.any(g_unit != keys.unit_max(coded))):
        check_cohort_constant(work, unit, g, cohort)  # names the units and rows
    never = g_unit == 0
    if bool((~never & ((g_unit < 0) | (g_unit != np.round(g_unit)))).any()):
        bad = (coded != 0) & ((values < 0) | (values != np.round(values)))
        raise ValidationError(
            "the cohort (first treated period) must be a positive integer period, or 0 "
            "or missing for never treated.",
            column=cohort,
            rows=[_py(i) for i in work.index[bad]],
            fix="recode the cohort as the first treated period (e.g. 2010).",
        )
    late_unit = ~never & (g_unit > t_last_all)
    if late_unit.any():
        late = (coded != 0) & (values > t_last_all)
        late_units = pd.unique(work[unit].to_numpy()[late])
        _warn(
            f"{len(late_units)} unit(s) are first treated after the last period "
            f"{t_last_all} (cohorts {sorted({int(v) for v in values[late]})}); they count as "
            "never treated within the sample.",
            notes,
        )
    g_unit = np.where(~never & ~late_unit, g_unit, np.inf)
    if treat_values is not None:
        index = work.index
        check_treat_matches_cohort(
            work, time, pd.Series(treat_values, index=index),
            pd.Series(g_unit[keys.unit], index=index), treat or "", cohort,
        )  # fmt: skip
    return g_unit


def _check_weight_and_cluster(work: pd.DataFrame, weight: str | None, cluster: str | None) -> None:
    if weight is not None:
        w = as_numeric(work[weight], weight, "weight", allow_missing=False)
        negative = w < 0
        if negative.any():
            raise ValidationError(
                "the weight column has negative values.",
                column=weight,
                rows=[_py(i) for i in work.index[negative]],
                fix="weights must be non-negative (e.g. population counts).",
            )
        work[weight] = w
    if cluster is not None:
        check_no_missing(work[cluster], cluster, "cluster")


def _derived(
    keys: RowKeys, t: NDArray[np.int64], g_unit: NDArray[np.float64], d: NDArray[np.int64] | None
) -> dict[str, NDArray[Any]]:
    """The derived columns (input row order): cohort, relative time, never/always treated, 0/1."""
    g = g_unit[keys.unit]
    never = np.isinf(g)
    rel = t - g
    rel[never] = np.nan
    always = np.isfinite(g_unit) & (g_unit <= keys.unit_first(t))
    return {
        COHORT: g,
        REL_TIME: rel,
        NEVER: never,
        TREATED: d.astype(np.int64) if d is not None else (t >= g).astype(np.int64),
        ALWAYS: always[keys.unit],
    }


def _sorted(work: pd.DataFrame, keys: RowKeys, derived: dict[str, NDArray[Any]]) -> pd.DataFrame:
    """``work`` sorted by unit and time with a fresh RangeIndex and the derived columns."""
    if keys.order is not None:
        work = work.take(keys.order)
    work.index = pd.RangeIndex(len(work))
    if TREATED in work.columns:  # the user's treatment column is called "_treated"
        work[TREATED] = keys.sort(derived[TREATED])
    added = {k: keys.sort(v) for k, v in derived.items() if k not in work.columns}
    # one concatenation instead of a column insertion each (each insertion copies the frame);
    # the derived arrays are new, so the frame may own them without a copy
    return pd.concat([work, pd.DataFrame(added, index=work.index, copy=False)], axis=1)


def _warn_always_treated(
    work: pd.DataFrame, unit: str, always: NDArray[np.bool_], notes: list[str]
) -> None:
    if always.any():
        always_units = pd.unique(work[unit].to_numpy()[always])
        _warn(
            f"{len(always_units)} unit(s) are treated in their first observed period "
            f"(always treated, no pre-treatment period): {format_rows(list(always_units))}. "
            "They are flagged in the '_always_treated' column; most staggered estimators "
            "drop them, and in two-way fixed effects they only add noise.",
            notes,
        )


def _warn_gaps(
    work: pd.DataFrame, keys: RowKeys, names: tuple[str, str], notes: list[str]
) -> dict[object, list[int]]:
    if not keys.has_gaps():
        return {}
    unit, time = names
    gaps = find_gaps(work[unit], work[time], keys.periods.tolist())
    if gaps:
        shown = "; ".join(f"{u!r}: {p}" for u, p in list(gaps.items())[:5])
        _warn(
            f"{len(gaps)} unit(s) have gaps (periods missing inside their observed span): "
            f"{shown}{' ...' if len(gaps) > 5 else ''}. Lags, leads and first differences "
            "skip over them.",
            notes,
        )
    return gaps


def _read_only(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """``values`` (an array the panel owns) made read-only, so the Panel stays immutable."""
    values.flags.writeable = False
    return values


class Panel:
    """A unit-by-period panel with validated column roles and derived treatment timing.

    Parameters
    ----------
    df
        The data, one row per unit and period. It is copied and never modified.
    unit, time
        Column names of the unit identifier and the period. The time column must hold integer
        periods (years or integer-coded periods); integral floats, numeric text such as
        ``"2010"``/``"2010年"`` and datetimes (converted to calendar years, with a
        :class:`~didstudy.errors.PanelWarning`) are converted in the copy.
    treat
        Column of the 0/1 treatment indicator :math:`D_{it}`. The cohort (first treated period)
        of each unit is derived as the first period with ``treat == 1``.
    cohort
        Column of the first treated period :math:`G_i` (constant within a unit; ``0`` or missing
        = never treated), the ``g`` of Callaway and Sant'Anna (2021). The indicator is derived
        as :math:`D_{it} = 1\\{t \\ge G_i\\}`. Cohorts after the last period are treated as never
        treated within the sample (with a warning). Give ``treat``, ``cohort`` or both; with both
        they must agree.
    weight, cluster
        Optional columns of observation weights (finite, non-negative) and the cluster
        identifier for inference.
    allow_switching
        Allow a treatment that switches off (1 then 0). The cohort is then the first treated
        period and ``_treated`` the given indicator. Staggered-adoption estimators assume
        absorbing treatment; only use this with estimators that allow switching.

    Attributes
    ----------
    frame
        The validated copy, sorted by unit and time, with a fresh ``RangeIndex`` and the derived
        columns ``_cohort`` (float, first treated period, ``inf`` = never), ``_rel_time`` (float,
        time minus cohort, NaN for never treated), ``_never_treated`` (bool), ``_treated`` (int
        0/1) and ``_always_treated`` (bool: treated in the unit's first observed period).
    unit, time, weight, cluster
        Column names (``weight``/``cluster`` may be None).
    treat
        Name of the 0/1 treatment column: the user's ``treat`` or the derived ``"_treated"``.
    cohort
        ``"_cohort"``.
    notes
        Conversions applied to the copy (e.g. dates converted to years).

    Raises
    ------
    DataError
        A role column does not exist (the message suggests the closest names).
    ValidationError
        Duplicated unit-time rows; missing or non-numeric values in the unit, time, treat,
        cohort, weight or cluster columns; a treatment that is not 0/1; a treatment that switches
        off (unless ``allow_switching``); a cohort that varies within a unit; treat and cohort
        that disagree.

    Warns
    -----
    PanelWarning
        Always-treated units (no pre-treatment period); gaps inside units' observed spans;
        cohorts after the sample; converted time columns.

    Notes
    -----
    Imbalance (units observed in different sets of periods) is allowed and reported by
    :meth:`describe`; gaps inside a unit's span also warn, because lags, leads and some
    estimators silently assume consecutive periods.

    Examples
    --------
    >>> import didstudy as ds
    >>> panel = ds.Panel(ds.load_dataset("mpdta"), unit="countyreal", time="year",
    ...                   cohort="first.treat")
    >>> panel.describe()["n_never_treated"]
    309
    """

    __slots__ = (
        "_frame",
        "_info",
        "allow_switching",
        "cluster",
        "cohort",
        "notes",
        "time",
        "treat",
        "unit",
        "weight",
    )

    unit: str
    time: str
    treat: str
    cohort: str
    weight: str | None
    cluster: str | None
    allow_switching: bool
    notes: tuple[str, ...]
    _frame: pd.DataFrame
    _info: dict[str, Any]

    def __init__(
        self,
        df: pd.DataFrame,
        unit: str,
        time: str,
        treat: str | None = None,
        cohort: str | None = None,
        weight: str | None = None,
        cluster: str | None = None,
        allow_switching: bool = False,
    ) -> None:
        roles = _check_roles(df, unit, time, treat, cohort, weight, cluster)
        work, notes, keys = _private_copy(df, roles, unit, time)
        names = (unit, time)
        treat_values = _treatment_values(work, keys, names, treat, allow_switching)
        g_unit = _cohorts(work, keys, names, cohort, treat, treat_values, notes)
        _check_weight_and_cluster(work, weight, cluster)
        derived = _derived(keys, work[time].to_numpy(), g_unit, treat_values)
        _warn_always_treated(work, unit, derived[ALWAYS], notes)
        work = _sorted(work, keys, derived)
        grid = keys.periods
        gaps = _warn_gaps(work, keys, names, notes)

        object.__setattr__(self, "_frame", work)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "treat", treat if treat is not None else TREATED)
        object.__setattr__(self, "cohort", COHORT)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "cluster", cluster)
        object.__setattr__(self, "allow_switching", allow_switching)
        object.__setattr__(self, "notes", tuple(notes))
        object.__setattr__(
            self,
            "_info",
            {
                "treat_arg": treat,
                "cohort_arg": cohort,
                "gaps": gaps,
                "periods": grid,
                "unit_codes": _read_only(keys.sorted_unit),
                "n_units": keys.n_units,
            },
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Panel is immutable; cannot set '{name}'. Use with_frame().")

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_adoption(
        cls,
        df: pd.DataFrame,
        unit: str,
        time: str,
        adoption: pd.DataFrame | pd.Series | Mapping[Hashable, object],
        *,
        unit_col: str | None = None,
        date_col: str | None = None,
        period: Literal["year", "month", "quarter"] = "year",
        cohort_col: str = "first_treated",
        weight: str | None = None,
        cluster: str | None = None,
    ) -> Panel:
        """Build a panel whose cohorts come from an adoption list.

        Parameters
        ----------
        df
            The panel data (not modified).
        unit, time
            Unit and period columns of ``df``.
        adoption
            ``{unit: first treated date or period}``, a Series indexed by unit, or a frame with
            ``unit_col`` and ``date_col`` (see
            :func:`didstudy.data.treatment.cohorts_from_adoption`). Units absent from the list
            are never treated.
        cohort_col
            Name of the cohort column added to the copy (must not exist in ``df``).
        """
        from didstudy.data.treatment import cohorts_from_adoption

        if cohort_col in df.columns:
            raise ValidationError(
                f"column '{cohort_col}' already exists.",
                column=cohort_col,
                fix="pass cohort_col= with a new name.",
            )
        require_columns(df, [unit], role="unit")
        cohorts = cohorts_from_adoption(
            adoption, df[unit], unit_col=unit_col, date_col=date_col, period=period
        )
        data = df.copy()
        data[cohort_col] = data[unit].map(cohorts).fillna(0).astype("int64")
        return cls(data, unit=unit, time=time, cohort=cohort_col, weight=weight, cluster=cluster)

    def _roles(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "time": self.time,
            "treat": self._info["treat_arg"],
            "cohort": self._info["cohort_arg"],
            "weight": self.weight,
            "cluster": self.cluster,
            "allow_switching": self.allow_switching,
        }

    def with_frame(self, df: pd.DataFrame) -> Panel:
        """A new Panel with the same roles on ``df`` (re-validated; derived columns redone)."""
        return Panel(df, **self._roles())

    def with_roles(self, **roles: Any) -> Panel:
        """A new Panel on the same data with some roles changed (re-validated).

        Parameters
        ----------
        **roles
            Any of ``unit, time, treat, cohort, weight, cluster, allow_switching``.

        Examples
        --------
        >>> import didstudy as ds
        >>> df = ds.simulate_staggered(n_units=20, periods=range(1, 9), seed=0)
        >>> p = ds.as_panel(df, unit="unit", time="time", cohort="cohort")
        >>> p.with_roles(treat="treat").treat
        'treat'
        """
        unknown = sorted(set(roles) - set(self._roles()))
        if unknown:
            raise ValidationError(
                f"unknown panel role(s): {', '.join(unknown)}.",
                fix="use unit, time, treat, cohort, weight, cluster or allow_switching.",
            )
        return Panel(self._frame, **(self._roles() | roles))

    def subset(self, mask: pd.Series | np.ndarray[Any, Any] | list[bool]) -> Panel:
        """A new Panel on the rows of :attr:`frame` where ``mask`` is true.

        Treatment timing is re-derived on the subset: with ``treat=`` the cohort is the first
        treated period still present; with ``cohort=`` it is unchanged.
        """
        m = np.asarray(mask, dtype=bool)
        if m.shape != (len(self._frame),):
            raise ValidationError(
                f"the mask has shape {m.shape} but the panel has {len(self._frame)} rows.",
                fix="build the mask from panel.frame, e.g. panel.frame['year'] >= 2005.",
            )
        return self.with_frame(self._frame.loc[m])

    # -- views ----------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """The validated data with derived columns (a copy: changing it leaves the panel as is)."""
        return self._frame.copy(deep=False)

    @property
    def units(self) -> np.ndarray[Any, Any]:
        """Sorted unique units."""
        return np.asarray(pd.unique(self._frame[self.unit]))

    @property
    def periods(self) -> np.ndarray[Any, Any]:
        """Sorted unique periods (int64)."""
        return np.asarray(self._info["periods"]).copy()

    @property
    def cohorts(self) -> tuple[int, ...]:
        """Sorted finite cohorts (first treated periods), including always-treated ones."""
        g = self._frame[COHORT].to_numpy()
        return tuple(int(v) for v in np.unique(g[np.isfinite(g)]))

    @property
    def n_units(self) -> int:
        return int(self._info["n_units"])

    @property
    def unit_codes(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Per row of :attr:`frame`, the unit's number: ``0 .. n_units - 1`` in sorted order of
        the unit ids (int64, read-only). The rows are sorted by unit, so the numbers never
        decrease; estimators use them instead of coding the unit column again.

        Examples
        --------
        >>> import didstudy as ds
        >>> df = ds.simulate_staggered(n_units=3, periods=range(1, 3), seed=0)
        >>> ds.as_panel(df, unit="unit", time="time", treat="treat").unit_codes.tolist()
        [0, 0, 1, 1, 2, 2]
        """
        codes: np.ndarray[Any, np.dtype[np.int64]] = self._info["unit_codes"]
        return codes

    @property
    def n_periods(self) -> int:
        return len(self._info["periods"])

    @property
    def is_balanced(self) -> bool:
        """Whether every unit is observed in every period."""
        return len(self._frame) == self.n_units * self.n_periods

    @property
    def gaps(self) -> dict[object, list[int]]:
        """``{unit: periods missing inside the unit's observed span}``."""
        return {k: list(v) for k, v in self._info["gaps"].items()}

    @property
    def always_treated(self) -> list[object]:
        """Units treated in their first observed period."""
        return [_py(u) for u in pd.unique(self._frame.loc[self._frame[ALWAYS], self.unit])]

    def unit_cohorts(self) -> pd.Series:
        """One cohort per unit (float, ``inf`` = never treated), indexed by unit."""
        return self._frame.groupby(self.unit, sort=True)[COHORT].first()

    def require_controls(self, kind: Literal["never", "not_yet"] = "never") -> tuple[int, ...]:
        """Raise unless the comparison units an estimator needs exist.

        Parameters
        ----------
        kind
            ``"never"``: at least one never-treated unit. ``"not_yet"``: at least one cohort
            ``g`` has units not yet treated at ``g`` (never treated or with a later cohort).

        Returns
        -------
        tuple of int
            For ``"not_yet"``, the cohorts with no not-yet-treated comparison unit at all (with
            no never-treated units: the last cohort). Empty for ``"never"``.

        Raises
        ------
        ValidationError
            When the required comparison units are missing.
        """
        g = self.unit_cohorts()
        n_never = int((~np.isfinite(g)).sum())
        if kind == "never":
            if n_never == 0:
                raise ValidationError(
                    "there are no never-treated units, which this estimator needs as controls "
                    f"(cohorts: {list(self.cohorts)}).",
                    column=self._info["cohort_arg"] or self.treat,
                    fix="use not-yet-treated units as controls (control_group='not_yet'), or "
                    "restrict the sample to periods before the last cohort is treated and treat "
                    "it as the control group.",
                )
            return ()
        if kind != "not_yet":
            raise ValidationError(
                f"unknown control kind {kind!r}.", fix="use 'never' or 'not_yet'."
            )
        finite = np.sort(g[np.isfinite(g)].unique())
        lacking = tuple(int(c) for c in finite if not (g > c).any())
        if len(finite) == 0 or len(lacking) == len(finite):
            raise ValidationError(
                "there are no not-yet-treated units: every unit is treated at the same time "
                "(or never) and no unit is left as a comparison.",
                column=self._info["cohort_arg"] or self.treat,
                fix="the design has no comparison group; add never-treated or later-treated units.",
            )
        return lacking

    def require_estimable(self) -> None:
        """Raise unless a treatment effect can be estimated from this panel's treatment timing.

        A two-way fixed-effects (or any difference-in-differences) estimate needs treated and
        untreated observations whose difference is not absorbed by the unit and period fixed
        effects. Four designs fail, each with its own message and fix:

        * no treated unit (the indicator is 0 in every row);
        * no untreated observation (the indicator is 1 in every row);
        * every unit treated at the same time, with no comparison unit: the indicator varies
          only over periods and is absorbed by the period fixed effects;
        * no unit changes status within the sample (only always- and never-treated units):
          the indicator varies only over units and is absorbed by the unit fixed effects.

        Raises
        ------
        ValidationError
            Naming the treatment column, the case and what to do.

        Examples
        --------
        >>> import didstudy as ds
        >>> df = ds.simulate_staggered(n_units=20, periods=range(1, 9), seed=0)
        >>> ds.as_panel(df, unit="unit", time="time", treat="treat").require_estimable()
        """
        check_estimable(self._frame, self.unit, self.time, TREATED, self._role_column())

    def _role_column(self) -> str:
        return str(self._info["treat_arg"] or self._info["cohort_arg"] or self.treat)

    def describe(self) -> dict[str, Any]:
        """Summary of the panel: sizes, balance, cohorts, never/always treated, gaps.

        Returns
        -------
        dict
            ``n_units, n_periods, n_obs, periods (first, last), balanced, cohorts`` (``{cohort:
            n units}``), ``n_never_treated, n_always_treated, always_treated`` (units),
            ``gaps`` (``{unit: missing periods}``), ``n_units_with_gaps, treated_share`` (share
            of rows with treatment 1), ``weight, cluster, notes``.
        """
        g = self.unit_cohorts()
        finite = g[np.isfinite(g)]
        counts = finite.value_counts().sort_index()
        periods = self._info["periods"]
        return {
            "unit": self.unit,
            "time": self.time,
            "treat": self.treat,
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "n_obs": len(self._frame),
            "periods": (int(periods[0]), int(periods[-1])),
            "balanced": self.is_balanced,
            "cohorts": {int(k): int(v) for k, v in counts.items()},
            "n_never_treated": int((~np.isfinite(g)).sum()),
            "n_always_treated": len(self.always_treated),
            "always_treated": self.always_treated,
            "gaps": self.gaps,
            "n_units_with_gaps": len(self._info["gaps"]),
            "treated_share": float(self._frame[self.treat].mean()),
            "weight": self.weight,
            "cluster": self.cluster,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        d = self.describe()
        return (
            f"Panel({d['n_units']} units x {d['n_periods']} periods {d['periods']}, "
            f"{d['n_obs']} rows, {'balanced' if d['balanced'] else 'unbalanced'}, "
            f"cohorts {d['cohorts']}, never treated {d['n_never_treated']})"
        )

    def __len__(self) -> int:
        return len(self._frame)


_NOT_ESTIMABLE = "so no treatment effect can be estimated."


def check_estimable(frame: pd.DataFrame, unit: str, time: str, treated: str, column: str) -> None:
    """Raise :class:`ValidationError` when the 0/1 column ``treated`` identifies no effect.

    See :meth:`Panel.require_estimable` for the four cases; ``column`` is the user's column
    named in the message.
    """
    d = frame[treated].to_numpy()
    if not d.any():
        raise ValidationError(
            f"no unit is treated in the sample (the treatment is 0 in every row), {_NOT_ESTIMABLE}",
            column=column,
            fix="check the treatment coding and any sample restriction (a query, a dropped "
            "subsample); cohorts after the last period count as never treated.",
        )
    if d.all():
        raise ValidationError(
            "every row is treated: there is no untreated observation to compare with, "
            + _NOT_ESTIMABLE,
            column=column,
            fix="add never-treated units or the periods before adoption.",
        )
    if (frame.groupby(time, sort=False)[treated].nunique() == 1).all():
        starts = sorted({int(v) for v in frame.loc[frame[treated] == 1, time].unique()})[:1]
        raise ValidationError(
            f"all units are treated at the same time (from {time} {starts[0]}) and no unit "
            "stays untreated, but the design needs untreated comparison units: the treatment "
            f"is absorbed by the period fixed effects, {_NOT_ESTIMABLE}",
            column=column,
            fix="add never-treated or later-treated units as a comparison group; a single "
            "adoption date for every unit cannot be told apart from a common time shock.",
        )
    if (frame.groupby(unit, sort=False)[treated].nunique() == 1).all():
        raise ValidationError(
            "no unit changes treatment status within the sample (units are either treated in "
            "every observed period or never): the treatment is absorbed by the unit fixed "
            f"effects, {_NOT_ESTIMABLE}",
            column=column,
            fix="include the periods before adoption for the treated units, or check the "
            "treatment coding (an 'ever treated' flag instead of a post-adoption indicator?).",
        )


def as_panel(
    data: pd.DataFrame | Panel,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
    cohort: str | None = None,
    weight: str | None = None,
    cluster: str | None = None,
    allow_switching: bool = False,
) -> Panel:
    """A validated :class:`Panel` from a DataFrame (or a Panel, returned as is or re-roled).

    The convenience entry of every estimator: ``as_panel(df, unit=, time=, treat=|cohort=)``
    runs exactly the checks of ``Panel(...)`` (decision record 0020).

    Parameters
    ----------
    data
        A DataFrame, or a Panel (returned unchanged unless a role given here differs).
    unit, time
        Unit and period columns (required for a DataFrame).
    treat, cohort
        The 0/1 treatment indicator or the first treated period (at least one for a
        DataFrame).
    weight, cluster, allow_switching
        As :class:`Panel`.

    Returns
    -------
    Panel

    Raises
    ------
    PanelRequiredError
        ``data`` is neither a Panel nor a DataFrame, or a DataFrame lacks ``unit``/``time``.
    ValidationError, DataError
        Whatever :class:`Panel` raises.

    Examples
    --------
    >>> import didstudy as ds
    >>> df = ds.simulate_staggered(n_units=20, periods=range(1, 9), seed=0)
    >>> ds.as_panel(df, unit="unit", time="time", treat="treat").n_units
    20
    """
    extra = {"weight": weight, "cluster": cluster}
    if allow_switching:
        extra["allow_switching"] = True  # type: ignore[assignment]
    return panel_for("as_panel", data, unit=unit, time=time, treat=treat, cohort=cohort, **extra)


def panel_for(
    caller: str,
    data: object,
    *,
    unit: str | None = None,
    time: str | None = None,
    treat: str | None = None,
    cohort: str | None = None,
    **roles: Any,
) -> Panel:
    """The single role resolver behind every estimator's ``data`` argument.

    A :class:`Panel` is returned as is, or re-validated with the roles given here when they
    differ from its own (``treat``/``cohort`` name the treatment timing the caller needs). A
    DataFrame becomes ``Panel(df, unit, time, treat, cohort, ...)`` when ``unit`` and ``time``
    are given; anything else raises :class:`PanelRequiredError` naming ``caller`` and
    :func:`as_panel` (decision record 0020).
    """
    if isinstance(data, Panel):
        return _reroled(caller, data, unit, time, treat, cohort, roles)
    if not isinstance(data, pd.DataFrame):
        raise PanelRequiredError(
            f"{caller} takes a didstudy.Panel, got {type(data).__name__}.",
            fix="build one with didstudy.as_panel(df, unit='city', time='year', treat='policy').",
        )
    if unit is None or time is None:
        raise PanelRequiredError(
            f"{caller} takes a didstudy.Panel; a DataFrame was given without its unit and time "
            "columns named, so its roles cannot be validated.",
            fix=f"build the panel once: panel = didstudy.as_panel(df, unit='city', time='year', "
            f"treat='policy'), then {caller}(panel, ...); or pass unit= and time= (and treat= "
            "or cohort=) with the DataFrame.",
        )
    named = {k: v for k, v in roles.items() if v is not None}
    return Panel(data, unit=unit, time=time, treat=treat, cohort=cohort, **named)


def _reroled(
    caller: str,
    panel: Panel,
    unit: str | None,
    time: str | None,
    treat: str | None,
    cohort: str | None,
    roles: dict[str, Any],
) -> Panel:
    for role, given in (("unit", unit), ("time", time)):
        own = getattr(panel, role)
        if given is not None and given != own:
            raise ValidationError(
                f"{caller} was given a Panel whose {role} is '{own}', and {role}='{given}'.",
                column=given,
                fix=f"drop {role}= (the panel's roles are used) or build another panel with "
                f"didstudy.as_panel(df, {role}='{given}', ...).",
            )
    current = panel._roles()
    changes: dict[str, Any] = {}
    if treat is not None and treat not in (panel.treat, current["treat"]):
        changes["treat"] = treat
    if cohort is not None and cohort not in (panel.cohort, current["cohort"]):
        changes["cohort"] = cohort
    changes |= {k: v for k, v in roles.items() if v is not None and current.get(k) != v}
    return panel.with_roles(**changes) if changes else panel
