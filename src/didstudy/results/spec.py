"""The baseline specification: the model a study writes once and every estimator shares.

A :class:`Baseline` holds the outcome, the treatment, the controls, the absorbed fixed effects,
the cluster variable(s), the variance estimator, the small-sample convention and the weights of
the baseline two-way fixed-effects regression. Estimators accept it as ``spec=`` and take
explicit keyword arguments as overrides; the results they return carry the resolved
specification (decision record 0021).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from didstudy.errors import ValidationError

__all__ = ["Baseline"]

#: the fields of a :class:`Baseline`, in the order the study file documents them
BASELINE_FIELDS: tuple[str, ...] = (
    "y",
    "treat",
    "controls",
    "fe",
    "cluster",
    "vcov",
    "ssc",
    "weights",
)


def _names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _split(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"a+b"``/``"a,b"`` or a list -> a tuple of names (fixed effects, clusters)."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.replace(",", "+").split("+") if p.strip())
    return _names(value)


def _frozen(value: Any) -> Any:
    """Mappings become sorted tuples of pairs so that the spec stays hashable."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in value)
    ):
        return {k: _thawed(v) for k, v in value}
    return value


@dataclass(frozen=True, init=False)
class Baseline:
    """The baseline regression specification shared by every estimator of a study.

    Parameters
    ----------
    y
        Outcome column.
    treat
        Treatment column(s): the 0/1 indicator :math:`D_{it}` (or several regressors).
    controls
        Time-varying control columns.
    fe
        Absorbed fixed effects (``None``: the panel's unit and time).
    cluster
        Cluster column(s) (``None``: the panel's cluster, else the unit).
    vcov
        Variance estimator (``None``: CRV1 on ``cluster``; ``"iid"``, ``"hc1"``, ...).
    ssc
        Small-sample convention (``None``/``"fixest"``, ``"stata"``, ..., see decision 0001).
    weights
        Analytic weight column (``None``: the panel's weight).

    Examples
    --------
    >>> from didstudy import Baseline
    >>> base = Baseline(y="indg", treat="policy", controls=("ln_gdp", "edu"))
    >>> base.override(controls=()).controls
    ()
    >>> base.override(y=None).y  # None keeps the baseline's value
    'indg'
    """

    y: str | None = None
    treat: tuple[str, ...] | None = None
    controls: tuple[str, ...] = ()
    fe: tuple[str, ...] | None = None
    cluster: tuple[str, ...] | None = None
    vcov: Any = None
    ssc: Any = None
    weights: str | None = None

    def __init__(
        self,
        y: str | None = None,
        treat: str | Sequence[str] | None = None,
        controls: str | Sequence[str] = (),
        fe: str | Sequence[str] | None = None,
        cluster: str | Sequence[str] | None = None,
        vcov: Any = None,
        ssc: Any = None,
        weights: str | None = None,
    ) -> None:
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "treat", _names(treat))
        object.__setattr__(self, "controls", _names(controls) or ())
        object.__setattr__(self, "fe", _split(fe))
        object.__setattr__(self, "cluster", _split(cluster))
        object.__setattr__(self, "vcov", _frozen(vcov))
        object.__setattr__(self, "ssc", _frozen(ssc))
        object.__setattr__(self, "weights", weights)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Baseline:
        """A Baseline from a mapping of its fields (e.g. the study file's ``[baseline]``)."""
        unknown = sorted(set(values) - set(BASELINE_FIELDS))
        if unknown:
            raise ValidationError(
                f"unknown baseline field(s): {', '.join(unknown)}.",
                fix=f"use {', '.join(BASELINE_FIELDS)}.",
            )
        return cls(**dict(values))

    def override(self, **changes: Any) -> Baseline:
        """A copy with the fields given (not ``None``) replaced; ``None`` keeps the baseline."""
        unknown = sorted(set(changes) - set(BASELINE_FIELDS))
        if unknown:
            raise ValidationError(
                f"unknown baseline field(s): {', '.join(unknown)}.",
                fix=f"use {', '.join(BASELINE_FIELDS)}.",
            )
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given) if given else self

    def require(self, *names: str, caller: str = "the estimator") -> None:
        """Raise :class:`ValidationError` when a required field (e.g. ``y``) is unset."""
        for name in names:
            if getattr(self, name) in (None, ()):
                raise ValidationError(
                    f"{caller} needs '{name}', which is neither passed nor in the baseline spec.",
                    fix=f"pass {name}=... or spec=didstudy.Baseline({name}=..., ...).",
                )

    @property
    def vcov_arg(self) -> Any:
        """``vcov`` as the estimators take it (mappings restored)."""
        return _thawed(self.vcov)

    @property
    def ssc_arg(self) -> Any:
        """``ssc`` as the estimators take it (mappings restored)."""
        return _thawed(self.ssc)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping of the fields (lists for tuples)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("vcov", "ssc"):
                value = _thawed(value)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out
